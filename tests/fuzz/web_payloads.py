"""Probes for the sandbox's forms (`/sandbox/command`, `/sandbox/submit`, `/sandbox/run`), its
page (`GET /sandbox`), `/healthz` and `/metrics`.

The sandbox's forms are browser forms: fields drawn from the real cards of the sandbox team
(a real person as `as`, a real action with its real context: round, prompt...) or junk, sent
urlencoded (sometimes with bytes that are not UTF-8), as multipart (sometimes broken), or as
something else entirely.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import strategies as st

from dialogs.cards import Card
from dialogs.jobs import JOB_NAMES
from tests.fuzz.junk import (
    HUGE_INTS,
    as_text,
    form_body,
    generated,
    junk,
    maybe,
    mutate,
    one_of_weighted,
    texts,
)
from tests.fuzz.probe import Probe, Target
from tests.fuzz.teams_payloads import ACTIONS
from tests.fuzz.world import COMMANDS, World

Fields = list[tuple[str, str]]
URLENCODED = (("Content-Type", "application/x-www-form-urlencoded"),)
LANGS = ("fr", "en", "de", "")


def card_forms(card: Card) -> list[dict[str, str]]:
    """The fields a browser posts for each way of using `card` in the sandbox."""
    forms = []
    if card.form is not None:
        fields = {"action": card.form.action}
        fields |= {f"ctx.{k}": v for k, v in card.form.context.items()}
        for block in card.inputs():
            if block.kind == "scale":
                fields[block.name] = "3"
            elif block.kind == "choice":
                fields[block.name] = block.options[0].value if block.options else ""
            else:
                fields[block.name] = "un texte"
        forms.append(fields)
    for button in card.buttons:
        forms.append({"action": button.action} | {f"ctx.{k}": v for k, v in button.context.items()})
    return forms


class WebPayloads:
    def __init__(self, world: World) -> None:
        self.people = world.sandbox.users
        self.forms = [f for card in world.sandbox.cards for f in card_forms(card)]
        self.round_ids = [str(i) for i in world.round_ids]

    def targets(self) -> list[Target]:
        return [
            Target("sandbox /sandbox/command", self._form(self.command, "/sandbox/command")),
            Target("sandbox /sandbox/submit", self._form(self.submit, "/sandbox/submit")),
            Target("sandbox /sandbox/run", self._form(self.run, "/sandbox/run")),
            Target("sandbox GET /sandbox", self._get("/sandbox", self.page_query)),
            Target("GET /healthz", self._get("/healthz", self.any_query)),
            Target("GET /metrics", self._get("/metrics", self.any_query)),
        ]

    # ----------------------------------------------------------------- strategies
    def command(self) -> st.SearchStrategy[Fields]:
        words = st.sampled_from(COMMANDS)
        return _fields(
            {"as": maybe(self.people), "text": st.one_of(words, words, texts())},
            {"in_channel": maybe(["1", "on"]), "lang": maybe(LANGS)},
        )

    def submit(self) -> st.SearchStrategy[Fields]:
        def with_person(pair: tuple[dict[str, str], Any]) -> Any:
            form, extra = pair
            return [*([k, v] for k, v in form.items()), *extra]

        real = st.tuples(
            st.sampled_from(self.forms),
            _fields(
                {"as": maybe(self.people)},
                {
                    "action": maybe(ACTIONS), "ctx.round": maybe([*self.round_ids, str(2**64)]),
                    "ctx.prompt": maybe(["p-unknown", ""]), "ctx.tension": junk(),
                    "ctx.occurrence": maybe([str(h) for h in HUGE_INTS]), "lang": maybe(LANGS),
                    "ctx.team": junk(), "q1": junk(), "text": texts(),
                },
            ),
        ).map(with_person)  # fmt: skip
        forged = _fields({"as": maybe(self.people), "action": maybe(ACTIONS)}, {"x": junk()})
        return st.one_of(real, real, real, forged)

    def run(self) -> st.SearchStrategy[Fields]:
        return _fields({"as": maybe(self.people), "job": maybe(JOB_NAMES)}, {"lang": maybe(LANGS)})

    def page_query(self) -> st.SearchStrategy[Fields]:
        return _fields(
            {},
            {
                "as": maybe(self.people), "lang": maybe(LANGS), "since": maybe(["0", "5"]),
                "job": maybe(JOB_NAMES), "done": texts(), "count": junk(),
            },
        )  # fmt: skip

    def any_query(self) -> st.SearchStrategy[Fields]:
        return st.lists(st.tuples(texts(12), texts(40)), max_size=3)

    # ----------------------------------------------------------------- probes
    def _form(self, strategy: Any, path: str) -> Any:
        def make(count: int, seed: int, pool: int) -> list[Probe]:
            rng = random.Random(seed)
            probes = []
            for n, fields in enumerate(generated(strategy(), count, seed, pool, rng)):
                if n % 20 < 5:  # a quarter more mutated: types, lengths, deleted fields
                    fields = mutate(fields, rng)
                pairs = [(as_text(k), as_text(v)) for k, v in _pairs(fields)]
                probes.append(encoded(rng, path, pairs))
            return probes

        return make

    def _get(self, path: str, strategy: Any) -> Any:
        def make(count: int, seed: int, pool: int) -> list[Probe]:
            rng = random.Random(seed)
            probes = []
            for fields in generated(strategy(), count, seed, pool, rng):
                pairs = [(as_text(k), as_text(v)) for k, v in _pairs(fields)]
                query = form_body(pairs).decode("ascii")
                method = "GET" if rng.random() < 0.9 else rng.choice(["POST", "HEAD", "DELETE"])
                headers = (("Accept", rng.choice(["*/*", "text/html", "\x7f", "a" * 5000])),)
                probes.append(Probe(method, path, b"", headers, query))
            return probes

        return make


def _fields(required: dict[str, Any], optional: dict[str, Any]) -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries(required, optional=optional).map(
        lambda d: [[k, v] for k, v in d.items()]
    )


def _pairs(value: Any) -> list[tuple[Any, Any]]:
    if not isinstance(value, list):
        return [("as", value)]
    return [
        (p[0], p[1]) if isinstance(p, (list, tuple)) and len(p) >= 2 else ("x", p) for p in value
    ]


def multipart(fields: Fields, boundary: str = "fuzzboundary") -> bytes:
    parts = []
    for key, value in fields:
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
        parts.append(head.encode("utf-8", "surrogatepass") + value.encode("utf-8", "surrogatepass"))
    return b"\r\n".join(parts) + f"\r\n--{boundary}--\r\n".encode()


def encoded(rng: random.Random, path: str, fields: Fields) -> Probe:
    """The fields as a browser (or a broken client) would post them."""

    def urlencoded() -> Probe:
        return Probe("POST", path, form_body(fields), URLENCODED)

    def latin1() -> Probe:  # bytes that are not UTF-8, percent-encoded or not
        body = "&".join(f"{k}={v}" for k, v in fields).encode("latin-1", "replace") + b"&t=%FF\xe9"
        return Probe("POST", path, body, URLENCODED)

    def good_multipart() -> Probe:
        kind = "multipart/form-data; boundary=fuzzboundary"
        return Probe("POST", path, multipart(fields), (("Content-Type", kind),))

    def broken_multipart() -> Probe:
        body = multipart(fields)
        body = rng.choice(
            [
                body[: len(body) // 2], body.replace(b"--fuzzboundary--", b""), b"--x\r\n\r\n",
                body.replace(b"Content-Disposition", b"Content-Dispositio"), b"",
                body.replace(b'name="', b'filename="f"; name="'), body + b"\xff" * 100,
            ]
        )  # fmt: skip
        kind = rng.choice(
            [
                "multipart/form-data; boundary=fuzzboundary", "multipart/form-data",
                "multipart/form-data; boundary=", "multipart/mixed; boundary=fuzzboundary",
                "multipart/form-data; boundary=" + "b" * 500,
            ]
        )  # fmt: skip
        return Probe("POST", path, body, (("Content-Type", kind),))

    def other() -> Probe:
        body = rng.choice([b"{}", b"\x00\x01", b"as=" + b"x" * 200_000, b"=&&==&"])
        kind = rng.choice(
            [
                "application/json",
                "text/plain",
                "",
                "application/x-www-form-urlencoded; charset=utf-16",
            ]
        )
        return Probe("POST", path, body, (("Content-Type", kind),))

    def oversized() -> Probe:
        return Probe("POST", path, b"text=" + b"x" * 1_500_000, URLENCODED)

    return one_of_weighted(
        rng,
        [(12, urlencoded), (1, latin1), (2, good_multipart), (2, broken_multipart), (1, other),
         (0.05, oversized)],
    )  # fmt: skip
