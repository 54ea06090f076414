"""The raw material of the fuzzer: hostile JSON values (hypothesis strategies), a mutator of
real payloads, form bodies that may not even be UTF-8, and `draw`, which collects examples
of a strategy in bulk so that they can be sent concurrently.

Kinds of trouble, from what broke before (issue 11): a value of the wrong type where a dict
or a string was expected (`"view": 0`, a numeric `team_id`, an event that is a string), lone
surrogates, integers past 64 bits (a round id), unknown ids, missing keys, very long strings
(echoed into URLs), deep nesting, NaN.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import quote_plus

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as seeded
from hypothesis import strategies as st

T = TypeVar("T")
Json = Any

HUGE_INTS = (2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, -1, 0)
SPECIAL_TEXTS = (
    "", " ", "null", "0", "-1", "1e309", "NaN", str(2**64), "9" * 40, "\x00", "\ud800",
    "a\udfffb", "💥" * 50, "<at>Passerelle</at>", "{}", "[]", '{"a":', "%", "%ff", "\\",
    "../../etc/passwd", "'; DROP TABLE members; --", "\u202e\u0301", "ＦＵＺＺ", "\r\n\r\n",
    "passerelle:checkin.submit:0", "open_form", "skip", "T0PASSRL1", "U0FZ00000",
)  # fmt: skip


def texts(max_size: int = 40) -> st.SearchStrategy[str]:
    """Strings, lone surrogates included (hypothesis leaves them out unless asked)."""
    return st.one_of(
        st.text(max_size=max_size),
        st.text(st.characters(min_codepoint=0xD700, max_codepoint=0xE0FF), max_size=8),
        st.sampled_from(SPECIAL_TEXTS),
        st.integers(1, 20_000).map(lambda n: "x" * n),
    )


def scalars() -> st.SearchStrategy[Json]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.sampled_from(HUGE_INTS),
        st.floats(allow_nan=True, allow_infinity=True),
        texts(),
    )


def junk() -> st.SearchStrategy[Json]:
    """Any JSON value (NaN and infinities too, which Python's json reads)."""
    return st.recursive(
        scalars(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts(12), inner, max_size=4),
        max_leaves=6,
    )


def maybe(real: Iterable[T], share: float = 0.8) -> st.SearchStrategy[Any]:
    """A real value most of the time (so the payload reaches the logic), else junk."""
    choices = list(real)
    weight = max(1, round(share * 10))
    return st.one_of(*([st.sampled_from(choices)] * weight), *([junk()] * (10 - weight)))


def draw(strategy: st.SearchStrategy[T], count: int, seed: int) -> list[T]:
    """`count` examples of `strategy` (generation only: no shrinking, no database)."""
    found: list[T] = []
    attempt = 0
    while len(found) < count and attempt < 20:

        @settings(
            max_examples=count - len(found),
            database=None,
            phases=[Phase.generate],
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @seeded(seed + attempt)
        @given(strategy)
        def collect(example: T) -> None:
            found.append(example)

        collect()
        attempt += 1
    return found[:count]


def generated(
    strategy: st.SearchStrategy[Any], count: int, seed: int, pool: int, rng: random.Random
) -> list[Any]:
    """`count` payloads: up to `pool` drawn by hypothesis (a few milliseconds each, whatever
    the strategy: too slow for 10,000), the rest mutations of those."""
    drawn = draw(strategy, max(1, min(count, pool)), seed)
    found = list(drawn)
    while len(found) < count:
        found.append(mutate(rng.choice(drawn), rng))
    return found[:count]


# --------------------------------------------------------------------------- mutations
def _junk_value(rng: random.Random) -> Json:
    pick = rng.randrange(12)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice(HUGE_INTS) * rng.choice((1, 3))
    if pick == 2:
        return rng.choice(SPECIAL_TEXTS)
    if pick == 3:
        return "x" * rng.choice((3_000, 9_000, 40_000))
    if pick == 4:
        return [] if rng.random() < 0.5 else {}
    if pick == 5:
        return rng.choice((True, False, 0, 1.5, float("nan"), float("inf")))
    if pick == 6:  # deeply nested: a parser's recursion limit
        value: Json = "deep"
        for _ in range(rng.choice((50, 400))):
            value = [value]
        return value
    if pick == 7:
        return "".join(chr(rng.randrange(0xD800, 0xE000)) for _ in range(rng.randint(1, 4)))
    if pick == 8:
        return {rng.choice(SPECIAL_TEXTS): rng.choice(SPECIAL_TEXTS)}
    if pick == 9:
        return str(rng.randrange(2**64, 2**80))
    if pick == 10:
        return "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randint(1, 60)))
    return rng.randrange(-(2**70), 2**70)


def _paths(tree: Json, path: tuple[Any, ...] = ()) -> Iterable[tuple[Any, ...]]:
    yield path
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _paths(value, (*path, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from _paths(value, (*path, index))


def _at(tree: Json, path: tuple[Any, ...]) -> Json:
    for step in path:
        tree = tree[step]
    return tree


# A list is multiplied (x2, x50) only in a tree whose JSON is shorter than this: mutations of
# mutations multiplied again (50 x 50 x a 40,000-character text) grew a 10,000-probe run's
# payloads to gigabytes in the fuzzer itself.
MULTIPLY_BELOW = 100_000


def mutate(value: Json, rng: random.Random, steps: int | None = None) -> Json:
    """A copy of `value` with one to four nodes replaced, removed, retyped or multiplied (a
    value nested deeper than Python's recursion limit allows to copy: a junk value)."""
    try:
        return _mutated(value, rng, steps)
    except RecursionError:  # a junk value 400 lists deep, mutated again (10,000-probe runs)
        return _junk_value(rng)


def _mutated(value: Json, rng: random.Random, steps: int | None) -> Json:
    tree = copy.deepcopy(value)
    for _ in range(steps or rng.randint(1, 4)):
        paths = list(_paths(tree))
        path = rng.choice(paths)
        if not path:  # the root itself
            if rng.random() < 0.2:
                tree = _junk_value(rng)
            continue
        parent, key = _at(tree, path[:-1]), path[-1]
        node = parent[key]
        operation = rng.randrange(7)
        if operation == 0 and isinstance(parent, dict):
            del parent[key]
        elif operation == 1:  # the same value under another type
            parent[key] = _retyped(node, rng)
        elif operation == 2 and isinstance(parent, list) and _small(tree):
            parent.extend([node] * rng.choice((2, 50)))
        elif operation == 3 and isinstance(node, dict):
            node[rng.choice(SPECIAL_TEXTS)] = _junk_value(rng)
        else:
            parent[key] = _junk_value(rng)
    return tree


def _small(tree: Json) -> bool:
    try:
        return len(json.dumps(tree, default=str)) < MULTIPLY_BELOW
    except (ValueError, RecursionError):
        return False


def _retyped(node: Json, rng: random.Random) -> Json:
    if isinstance(node, str):
        # isdecimal, not isdigit: '¹' is a digit that int() refuses.
        return int(node) if node.isdecimal() else [node]
    if isinstance(node, (int, float)) and not isinstance(node, bool):
        return str(node)
    if isinstance(node, dict):
        return rng.choice((list(node.values()), json.dumps(node), 0))
    if isinstance(node, list):
        return {str(i): v for i, v in enumerate(node)}
    return rng.choice(("", 0, []))


# --------------------------------------------------------------------------- bodies
def dumps(value: Json) -> bytes:
    """JSON as a client would send it (lone surrogates escaped, NaN as `NaN`)."""
    return json.dumps(value).encode()


def form_body(fields: Iterable[tuple[str, str]]) -> bytes:
    """urlencoded, each string's UTF-8 with lone surrogates passed through: bytes that are
    not UTF-8, as a broken client sends them."""

    def quoted(text: str) -> str:
        return quote_plus(text.encode("utf-8", "surrogatepass"))

    return "&".join(f"{quoted(k)}={quoted(v)}" for k, v in fields).encode()


def as_text(value: Json) -> str:
    """A form field from any value: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def one_of_weighted(rng: random.Random, makers: list[tuple[float, Callable[[], T]]]) -> T:
    total = sum(w for w, _ in makers)
    point = rng.random() * total
    for weight, make in makers:
        point -= weight
        if point <= 0:
            return make()
    return makers[-1][1]()
