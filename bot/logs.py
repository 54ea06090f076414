"""Logging for the server: our own lines at the level asked, database drivers kept quiet, and
malformed HTTP from clients said in one line.

aiosqlite logs every statement it runs, with its parameters, at DEBUG: a member looked up by
platform id, then a sealed row inserted, one line apart and timed. SQLAlchemy hides parameters
(`hide_parameters`), the driver does not, so its logger never goes below WARNING, whatever
PASSERELLE_LOG_LEVEL says.

aiohttp answers a request it cannot parse (a URL or header line over 8,190 bytes, a bad
header, a broken request line) with 400, and logs it at ERROR with a traceback, as if the
server had failed. `ClientHttpErrors` turns those records into one WARNING line: the client's
mistake, not ours. Every other error from aiohttp's server keeps its level and traceback.
"""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import BadHttpMessage

# Loggers that would print statement parameters (who, and what) below WARNING.
TALKATIVE_DRIVERS = ("aiosqlite", "asyncpg")
AIOHTTP_SERVER = "aiohttp.server"


class ClientHttpErrors(logging.Filter):
    """aiohttp's "Error handling request" for HTTP a client got wrong: one warning line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, BadHttpMessage):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            # `message` is aiohttp's text (status, what was too long), never the line itself.
            record.msg = "malformed HTTP request refused with %s: %s"
            record.args = (error.code, type(error).__name__)
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def quiet_drivers() -> None:
    for name in TALKATIVE_DRIVERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_drivers()
    server = logging.getLogger(AIOHTTP_SERVER)
    if not any(isinstance(f, ClientHttpErrors) for f in server.filters):
        server.addFilter(ClientHttpErrors())
