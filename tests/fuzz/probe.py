"""One generated HTTP request, and a target: an endpoint with the generator of its probes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Slack's signing secret is applied when the probe is sent: Slack refuses (and so do we)
# a timestamp more than 5 minutes old, and a 10,000-probe run takes longer than that.
SIGN_SLACK = "slack"


@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    query: str = ""  # a raw query string, sent as it is
    sign: str = ""  # SIGN_SLACK: sign with the app's signing secret at send time


@dataclass(frozen=True)
class Target:
    name: str  # as reported: "slack events", "teams /api/messages"...
    make: Callable[[int, int, int], list[Probe]]  # (count, seed, hypothesis pool) -> probes
