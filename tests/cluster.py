"""Several real `passerelle serve` processes on one PostgreSQL database, behind a real nginx on
loopback: the deployment of docs/operations.md ("Several processes behind nginx"), for tests
and benchmarks.

    async with Cluster(database_url, tmp_path, size=3, env=slack.env()) as cluster:
        await post_signed(cluster.url + "/slack/events", body)   # through nginx
        await cluster.kill(0)                                     # SIGKILL, no shutdown
        await cluster.start_process(0)                            # the same port again

Each process is the real CLI (`python -m bot.cli serve`) on its own port with the same
PASSERELLE_SECRET_KEY (what one seals, another opens). nginx (Debian's package, installed by
.ci/run) runs in the foreground with its own prefix, configuration, pid file and error log in
the test's directory, on a free port of 127.0.0.1: never the system service. It balances round
robin (one nginx worker, so two requests in a row go to two processes) and adds a header
`X-Upstream: 127.0.0.1:<port>` naming the process that answered. Readiness is an event: each
process's /healthz answers 200, then nginx's does.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import aiohttp

from tests.lifecycle import Lifecycle

ROOT = Path(__file__).resolve().parents[1]
SECRET = "cluster-test-secret-0123456789-abcdefghijklmnop"
READY_WITHIN = 30.0  # seconds: a busy 2-CPU machine starting three interpreters at once
UPSTREAM = "X-Upstream"
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else "")
    if not found:
        raise RuntimeError("nginx is not installed: .ci/run installs Debian's package")
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, from /proc (no psutil on this machine)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime


def children_of(pid: int) -> list[int]:
    """Direct children of a process (nginx's workers), by their parent in /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(entry.name))
    return found


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:] if log.exists() else "exited"


def serve_env(database_url: str, port: int, secret: str, env: Mapping[str, str]) -> dict[str, str]:
    """The environment of a `serve` child on 127.0.0.1:`port` (this process's, the repository on
    PYTHONPATH, warnings only), `env` last."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PASSERELLE_DATABASE_URL": database_url,
        "PASSERELLE_SECRET_KEY": secret,
        "PASSERELLE_HOST": "127.0.0.1",
        "PASSERELLE_PORT": str(port),
        "PASSERELLE_LOG_LEVEL": "WARNING",
        **env,
    }


async def spawn(log: Path, env: Mapping[str, str], *args: str) -> asyncio.subprocess.Process:
    """`python <args>` from the repository's root, its output appended to `log`."""
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, *args, cwd=ROOT, env=env, stdout=out, stderr=out
        )


async def terminate(process: asyncio.subprocess.Process | None) -> None:
    """SIGTERM, as systemd stops a unit (a graceful shutdown), SIGKILL after 15 s."""
    if process is None or process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout=15)
    except TimeoutError:
        process.send_signal(signal.SIGKILL)
        await process.wait()


async def until_healthy(
    url: str, alive: asyncio.subprocess.Process, log: Path, within: float = READY_WITHIN
) -> None:
    """Poll `url` until it answers 200 (the process started and reached its database)."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while True:
            assert alive.returncode is None, _tail(log)
            assert time.monotonic() < deadline, f"{url} not ready within {within} s"
            try:
                async with http.get(url) as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)


class Process:
    """One `passerelle serve` in a child process, on its own port (kept across restarts)."""

    def __init__(
        self, index: int, database_url: str, env: dict[str, str], log: Path, role: str | None
    ) -> None:
        self.index = index
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.address}"
        self.role = role
        self.env = serve_env(database_url, self.port, SECRET, env)
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self.pids: list[int] = []  # every pid this slot has had, oldest first

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        role = ["--role", self.role] if self.role else []
        self.process = await spawn(self.log, self.env, "-m", "bot.cli", "serve", *role)
        self.pids.append(self.process.pid)
        await until_healthy(f"{self.url}/healthz", self.process, self.log)

    async def kill(self) -> None:
        """SIGKILL: no shutdown, nothing flushed, as a crashed machine."""
        assert self.process is not None and self.process.returncode is None
        self.process.send_signal(signal.SIGKILL)
        assert await self.process.wait() == -signal.SIGKILL

    async def stop(self) -> None:
        await terminate(self.process)


NGINX_CONF = """\
# Written by tests/cluster.py: the recipe of docs/operations.md on loopback.
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    # Bodies and answers stay in memory: no temp file under a directory the worker may not own.
    client_body_buffer_size 1m;
    client_max_body_size 1m;
    proxy_max_temp_file_size 0;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream passerelle {{
{servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://passerelle;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 30s;
            add_header {upstream_header} $upstream_addr always;
        }}
    }}
}}
"""


class Nginx:
    """nginx in the foreground (`daemon off`), its own prefix and configuration."""

    def __init__(self, prefix: Path, upstreams: list[str]) -> None:
        self.prefix = prefix
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.conf = prefix / "nginx.conf"
        prefix.mkdir(parents=True, exist_ok=True)
        servers = "\n".join(f"        server {address};" for address in upstreams)
        self.conf.write_text(
            NGINX_CONF.format(
                prefix=prefix, servers=servers, port=self.port, upstream_header=UPSTREAM
            )
        )
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = self.prefix / "error.log"
        command = [nginx_binary(), "-p", str(self.prefix), "-e", str(log), "-c", str(self.conf)]
        check = await asyncio.create_subprocess_exec(
            *command, "-t", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output, _ = await check.communicate()
        assert check.returncode == 0, output.decode()
        self.process = await asyncio.create_subprocess_exec(
            *command, "-g", "daemon off;", stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await until_healthy(f"{self.url}/healthz", self.process, log)

    def worker_pids(self) -> list[int]:
        return children_of(self.process.pid) if self.process is not None else []

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # nginx's fast shutdown
        try:
            await asyncio.wait_for(self.process.wait(), timeout=10)
        except TimeoutError:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()


class Cluster(Lifecycle):
    """`size` processes with the same environment (plus `env_of(index)`), nginx in front."""

    def __init__(
        self,
        database_url: str,
        directory: Path,
        size: int,
        env: dict[str, str] | None = None,
        *,
        role: str | None = None,
        env_of: dict[int, dict[str, str]] | None = None,
    ) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        extra = env_of or {}
        self.processes = [
            Process(
                index,
                database_url,
                {**(env or {}), **extra.get(index, {})},
                directory / f"serve-{index}.log",
                role,
            )
            for index in range(size)
        ]
        self.nginx = Nginx(directory / "nginx", [p.address for p in self.processes])

    @property
    def url(self) -> str:
        return self.nginx.url

    def by_address(self, address: str) -> Process:
        """The process an `X-Upstream` header names."""
        return next(p for p in self.processes if p.address == address)

    async def open(self) -> None:
        # One after the other: three interpreters importing at once on two CPUs take longer
        # than the sum, and the migrations are already applied by the test's fixture.
        for process in self.processes:
            await process.start()
        await self.nginx.start()

    async def start_process(self, index: int) -> None:
        await self.processes[index].start()

    async def kill(self, index: int) -> None:
        await self.processes[index].kill()

    async def restart(self, index: int) -> None:
        """A graceful stop (SIGTERM), then the same slot started again on the same port."""
        await self.processes[index].stop()
        await self.processes[index].start()

    def logs(self) -> str:
        return "\n".join(
            p.log.read_text(errors="replace") for p in self.processes if p.log.exists()
        )

    async def close(self) -> None:
        await self.nginx.stop()
        for process in self.processes:
            if process.alive:
                assert process.process is not None
                process.process.send_signal(signal.SIGKILL)
                await process.process.wait()
