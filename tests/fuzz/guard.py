"""`passerelle serve` with a tripwire on every connection that would leave this machine.

    python -m tests.fuzz.guard serve

The fuzzer runs the server through this module: a Python audit hook (PEP 578) sees every
`socket.connect` and `socket.getaddrinfo` in the process, whatever library makes them
(botbuilder's `requests`, slack_sdk's and our aiohttp, asyncio's resolver), before they happen.
A target that is not loopback (a public or private address, or a name other than localhost,
whose lookup alone would leave the machine) is refused with an OSError, as a host that cannot
be reached, and written to stderr on one line starting with `OUTBOUND_MARK`, which the fuzzer
counts as a failure. The fakes (Slack, the Bot Connector) listen on 127.0.0.1, so they are the
only targets a correct server ever has.
"""

from __future__ import annotations

import ipaddress
import os
import runpy
import sys
from typing import Any

OUTBOUND_MARK = "PASSERELLE-FUZZ-OUTBOUND"
LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def is_local(host: object) -> bool:
    if host is None:  # getaddrinfo(None, port): the wildcard, for a listening socket
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in LOCAL_NAMES:
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def _target(event: str, args: tuple[Any, ...]) -> object:
    if event == "socket.connect":
        address = args[1]
        if isinstance(address, tuple) and address:
            return address[0]
        return "unix"  # AF_UNIX path (bytes/str): local by nature
    return args[0]  # socket.getaddrinfo(host, port, family, type, proto, flags)


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event not in ("socket.connect", "socket.getaddrinfo"):
        return
    host = _target(event, args)
    if host == "unix" or is_local(host):
        return
    port = args[1][1] if event == "socket.connect" and len(args[1]) > 1 else args[1]
    # One line, written at once: the fuzzer reads the log while the server runs.
    os.write(2, f"{OUTBOUND_MARK} {event} {host!r} {port!r}\n".encode("utf-8", "replace"))
    raise ConnectionRefusedError(f"fuzz guard: {host!r} is not on this machine")


def main() -> None:
    sys.addaudithook(_hook)
    sys.argv = ["bot.cli", *sys.argv[1:]]
    runpy.run_module("bot.cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
