"""Logging for the server: our own lines at the level asked, database drivers kept quiet.

aiosqlite logs every statement it runs, with its parameters, at DEBUG: a member looked up by
platform id, then a sealed row inserted, one line apart and timed. SQLAlchemy hides parameters
(`hide_parameters`), the driver does not, so its logger never goes below WARNING, whatever
PASSERELLE_LOG_LEVEL says.
"""

from __future__ import annotations

import logging

# Loggers that would print statement parameters (who, and what) below WARNING.
TALKATIVE_DRIVERS = ("aiosqlite", "asyncpg")


def quiet_drivers() -> None:
    for name in TALKATIVE_DRIVERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_drivers()
