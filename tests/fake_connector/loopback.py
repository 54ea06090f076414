"""An aiohttp server in a thread of its own (for clients that block the event loop)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from aiohttp import web


class LoopbackServer:
    """Serve an aiohttp application on 127.0.0.1 from a daemon thread with its own event loop.

    Needed whenever the code under test makes *blocking* HTTP calls from the event loop
    (botframework's ``TeamsConnectorClient``, its OpenID metadata refresh): a server on the
    caller's loop could never answer them."""

    def __init__(self, make_app: Callable[[], web.Application], name: str = "loopback") -> None:
        self._make_app = make_app
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    def start(self, timeout: float = 10.0) -> int:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            runner = web.AppRunner(self._make_app(), access_log=None)
            try:
                loop.run_until_complete(runner.setup())
                site = web.TCPSite(runner, "127.0.0.1", 0)
                loop.run_until_complete(site.start())
                self.port = runner.addresses[0][1]
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            self._loop = loop
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(runner.cleanup())
                loop.close()

        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError(f"{self._name}: server did not start within {timeout}s")
        if failure:
            raise failure[0]
        return self.port

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
        self._loop = None
        self._thread = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
