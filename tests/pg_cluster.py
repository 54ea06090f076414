"""A throwaway PostgreSQL cluster for tests that stop and start the database itself.

    async with ThrowawayCluster() as cluster:
        url = cluster.url                # postgresql+asyncpg://127.0.0.1:<port>/passerelle
        await cluster.stop()             # the server goes away: connections refused
        await cluster.start()            # back on the same port, same data

`initdb` (from /usr/lib/postgresql/<version>/bin, Debian's layout) into a directory of its own
under /tmp, trust authentication, its own free port on 127.0.0.1 and its socket in that
directory: never the shared cluster on 5432. PostgreSQL refuses to run as root: as root (CI
containers), the binaries run as the `postgres` user (runuser), who owns the directory.
Stopped with `pg_ctl stop -m fast` (what a restart or a failover looks like to a client: open
connections are terminated, new ones refused); removed with its directory.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import tempfile
from pathlib import Path

from tests.cluster import free_port
from tests.lifecycle import Lifecycle

DATABASE = "passerelle"


def postgres_bin() -> Path:
    """The newest installed server's binaries (initdb and pg_ctl are not on PATH on Debian)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        on_path = shutil.which("initdb")
        if on_path is None:
            raise RuntimeError("no PostgreSQL server binaries (initdb) on this machine")
        return Path(on_path).parent
    return found[-1].parent


class ThrowawayCluster(Lifecycle):
    def __init__(self) -> None:
        # Not pytest's tmp_path: its parents are private to root, and the server may run as
        # another user.
        self.directory = Path(tempfile.mkdtemp(prefix="passerelle-pg-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.directory / "pgdata"
        self.socket_dir = self.directory / "pgsocket"
        self.log = self.directory / "postgres.log"
        self.port = free_port()
        self.bin = postgres_bin()
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{DATABASE}"

    async def _run(self, *argv: str) -> None:
        process = await asyncio.create_subprocess_exec(
            *self.as_user,
            *argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "LC_ALL": "C.UTF-8"},
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {output.decode(errors='replace')}")

    async def open(self) -> None:
        await self._run("mkdir", "-p", str(self.socket_dir))
        await self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--encoding=UTF8", "--no-sync",
        )  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:  # root may write it
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                # A test cluster: durability against power loss is not what is tested.
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 100\n"
            )
        await self.start()
        await self._run(
            str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
            "-U", "postgres", DATABASE,
        )  # fmt: skip

    async def start(self) -> None:
        # -w: pg_ctl returns once the server accepts connections (an event, not a sleep).
        await self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
            "-w", "-t", "60", "start",
        )  # fmt: skip
        self.running = True

    async def stop(self) -> None:
        await self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.running = False

    async def close(self) -> None:
        if self.running:
            await self._run(
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"
            )
            self.running = False
        shutil.rmtree(self.directory, ignore_errors=True)
