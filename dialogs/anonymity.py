"""The k rule where answers are written: which segments a ballot may carry.

A ballot keeps the respondent's sector and position only as far as whoever reads the database
cannot single a person out by a rare segment. The decision is taken per team, for everyone at
once, because a per-person decision leaks by complement (the only ballots without a position
would be the lone manager's).
- A sector is recorded when at least k active members share it, and the sectors not recorded
  must together hold 0 or at least k members (else the smallest recorded one joins them).
- Positions follow the same rule.
- Both are recorded together only when every combination a ballot could carry (a recorded or
  blank sector with a recorded or blank position) holds 0 or at least k members; otherwise
  positions are dropped for the whole team.
"""

from __future__ import annotations

from dataclasses import dataclass

K_FLOOR = 3


def effective_k(k: int) -> int:
    return max(K_FLOOR, k)


@dataclass(frozen=True)
class RecordingScheme:
    sectors: frozenset[str]
    positions: frozenset[str]

    def apply(self, sector: str | None, position: str | None) -> tuple[str | None, str | None]:
        return (
            sector if sector in self.sectors else None,
            position if position in self.positions else None,
        )


def recording_scheme(group_sizes: dict[tuple[str, str], int], k: int) -> RecordingScheme:
    """Decide the team's recorded segments from active members per (sector, position)."""
    k = effective_k(k)
    sectors = _recordable(_marginal(group_sizes, 0), k)
    positions = _recordable(_marginal(group_sizes, 1), k)
    if positions and not _combinations_safe(group_sizes, sectors, positions, k):
        positions = frozenset()
    return RecordingScheme(sectors, positions)


def _combinations_safe(
    group_sizes: dict[tuple[str, str], int],
    sectors: frozenset[str],
    positions: frozenset[str],
    k: int,
) -> bool:
    """Every combination a ballot could carry, unrecorded parts included, holds 0 or >= k."""
    combined: dict[tuple[str | None, str | None], int] = {}
    for (sector, position), n in group_sizes.items():
        key = (sector if sector in sectors else None, position if position in positions else None)
        combined[key] = combined.get(key, 0) + n
    return all(n == 0 or n >= k for n in combined.values())


def _marginal(group_sizes: dict[tuple[str, str], int], axis: int) -> dict[str, int]:
    totals: dict[str, int] = {}
    for key, n in group_sizes.items():
        totals[key[axis]] = totals.get(key[axis], 0) + n
    return totals


def _recordable(sizes: dict[str, int], k: int) -> frozenset[str]:
    kept = {value for value, n in sizes.items() if value and n >= k}
    while kept:
        hidden = sum(n for value, n in sizes.items() if value not in kept)
        if hidden == 0 or hidden >= k:
            break
        kept.remove(min(kept, key=lambda value: (sizes[value], value)))
    return frozenset(kept)
