"""A FakeSlack in a child process: Slack's own work is not on our CPU in production, and in
the bench's loop the fake's JSON checks and copies were most of what the work after an ack
cost. The child is spawned (its own event loop) and driven over a pipe."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
from typing import Any

from tests.fake_slack import FakeSlack


class RemoteSlack:
    """A FakeSlack in a child process (spawned, its own event loop), driven over a pipe: the
    methods the benchmarks use, run in the child's loop, results sent back."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_remote_slack_main, args=(child,), daemon=True)
        self._process.start()
        ready = self._pipe.recv()
        self.api_url: str = ready["api_url"]
        self.bot_token: str = ready["bot_token"]
        self.signing_secret: str = ready["signing_secret"]
        self._env: dict[str, str] = ready["env"]

    def _ask(self, *command: Any) -> Any:
        self._pipe.send(command)
        kind, value = self._pipe.recv()
        if kind == "error":
            raise RuntimeError(value)
        return value

    def env(self) -> dict[str, str]:
        return dict(self._env)

    def add_user(self, user_id: str, **fields: Any) -> None:
        self._ask("call", "add_user", (user_id,), fields)

    def add_channel(self, channel_id: str, name: str, **fields: Any) -> None:
        self._ask("call", "add_channel", (channel_id, name), fields)

    def dm_id(self, user_id: str) -> str:
        return str(self._ask("call", "dm_id", (user_id,), {}))

    def add_views(self, views: list[tuple[dict[str, Any], str]]) -> list[dict[str, Any]]:
        return list(self._ask("add_views", views))

    def set(self, name: str, value: Any) -> None:
        self._ask("set", name, value)

    def calls_count(self) -> int:
        return int(self._ask("calls_count"))

    def ok_calls(self, method: str, since: int) -> int:
        return int(self._ask("ok_calls", method, since))

    def updated_at(self, since: int) -> dict[str, float]:
        """view id -> time.monotonic() (one clock for every process) of its first views.update."""
        return dict(self._ask("updated_at", since))

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError):
            self._ask("stop")
        self._process.join(timeout=10)


def _remote_slack_main(pipe: Any) -> None:
    asyncio.run(_remote_slack(pipe))


async def _remote_slack(pipe: Any) -> None:
    loop = asyncio.get_running_loop()
    async with FakeSlack() as slack:
        pipe.send(
            {
                "api_url": slack.api_url,
                "bot_token": slack.bot_token,
                "signing_secret": slack.signing_secret,
                "env": slack.env(),
            }
        )
        while True:
            command = await loop.run_in_executor(None, pipe.recv)
            kind, *rest = command
            try:
                if kind == "stop":
                    pipe.send(("ok", None))
                    return
                if kind == "call":
                    name, args, kwargs = rest
                    result = getattr(slack, name)(*args, **kwargs)
                    pipe.send(("ok", result if name == "dm_id" else None))
                elif kind == "add_views":
                    (views,) = rest
                    pipe.send(("ok", [slack.add_view(v, view_id=i) for v, i in views]))
                elif kind == "set":
                    setattr(slack, rest[0], rest[1])
                    pipe.send(("ok", None))
                elif kind == "calls_count":
                    pipe.send(("ok", len(slack.calls)))
                elif kind == "updated_at":
                    (since,) = rest
                    first: dict[str, float] = {}
                    for c in slack.calls[since:]:
                        if c.method == "views.update" and c.ok:
                            first.setdefault(str(c.params.get("view_id")), c.at)
                    pipe.send(("ok", first))
                elif kind == "ok_calls":
                    method, since = rest
                    found = sum(1 for c in slack.calls[since:] if c.method == method and c.ok)
                    pipe.send(("ok", found))
                else:
                    pipe.send(("error", f"unknown command {kind!r}"))
            except Exception as error:  # the bench, not the fake, should stop
                pipe.send(("error", repr(error)))


# What a bench can seed and drive: the fake in this process or in a child.
Slack = FakeSlack | RemoteSlack
