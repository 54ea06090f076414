"""The async-context lifecycle the test rigs share: open on entry, close on exit."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Lifecycle:
    """Opened on `async with`, closed on leaving it, and closed too when opening fails halfway:
    a half-started rig must not leave a process, a port or a directory behind. `close` must
    therefore cope with whatever `open` had time to do."""

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        try:
            await self.open()
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
