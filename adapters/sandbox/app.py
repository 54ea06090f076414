"""The local sandbox: a web page where each demo person talks to the engine.

It uses the same engine and outbox as Slack and Teams. Replies to a person's own action are
shown at once; everything else arrives through the outbox worker, as on a real platform.
While the database is away, every page and form answers 503 (Retry-After) with a page that
says so: nothing was recorded, try again in a minute.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlencode

from aiohttp import web

from adapters.sandbox.page import (
    NAME_SHOWN,
    Channel,
    PageState,
    outage_html,
    page_html,
    page_url,
    problem_html,
    unknown_person_html,
)
from adapters.sandbox.people import PLATFORM, viewer_of
from adapters.sandbox.transcript import Transcripts
from dialogs.cards import Card
from dialogs.directory import Person, directory, team_channels
from dialogs.engine import Engine
from dialogs.events import Actor, CommandReceived, FormSubmitted, Place
from dialogs.i18n import LANGUAGES, Tr, language_of, t
from dialogs.jobs import JOB_NAMES, UnknownJob, UnknownTeam
from storage.database import unavailable

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")
AfterAction = Callable[[], Awaitable[object]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RETRY_AFTER_SECONDS = 30
RESERVED = ("as", "action", "lang")


class Sandbox:
    def __init__(
        self, engine: Engine, transcripts: Transcripts, after_action: AfterAction | None = None
    ) -> None:
        self.engine = engine
        self.transcripts = transcripts
        # Delivers what is due from the outbox (the worker's `drain`): after each action, and
        # when the page is shown, so the sandbox works even with the scheduler off.
        self.after_action = after_action

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/sandbox", _outage_page(self.page)),
            web.post("/sandbox/command", _outage_page(self.command)),
            web.post("/sandbox/submit", _outage_page(self.submit)),
            web.post("/sandbox/run", _outage_page(self.run_job)),
            web.static("/sandbox/static", STATIC),
        ]

    # ----------------------------------------------------------------- actions
    async def command(self, request: web.Request) -> web.Response:
        form = await _form(request)
        person = await self._person_or_refuse(form)
        text = str(form.get("text", "")).strip()
        since = self.transcripts.last_number
        if text:
            place = await self._channel_place(person) if form.get("in_channel") else None
            cards = await self._handle(CommandReceived(self._actor(person), text, place))
            self.transcripts.add("direct", person.user_ref, said=text)
            await self._show(person, cards)
        raise web.HTTPSeeOther(page_url(person, _lang(form), {"since": str(since)}))

    async def submit(self, request: web.Request) -> web.Response:
        form = await _form(request)
        person = await self._person_or_refuse(form)
        action = str(form.get("action", "")).strip()
        if not action:
            _refuse(web.HTTPBadRequest, _tr(form, person), "sandbox.error_no_action", person, form)
        context = {k[4:]: str(v) for k, v in form.items() if k.startswith("ctx.")}
        values = {
            k: str(v) for k, v in form.items() if k not in RESERVED and not k.startswith("ctx.")
        }
        since = self.transcripts.last_number
        event = FormSubmitted(self._actor(person), action, context, values)
        await self._show(person, await self._handle(event))
        raise web.HTTPSeeOther(page_url(person, _lang(form), {"since": str(since)}))

    async def run_job(self, request: web.Request) -> web.Response:
        form = await _form(request)
        person = await self._person_or_refuse(form)
        tr = _tr(form, person)
        if not person.is_coordinator:
            _refuse(web.HTTPForbidden, tr, "sandbox.error_coordinators_only", person, form)
        job = str(form.get("job", "")).strip()
        since = self.transcripts.last_number
        try:
            result = await self.engine.jobs.run(job, person.team_slug)
        except (UnknownJob, UnknownTeam):
            shown = job if len(job) <= NAME_SHOWN else job[: NAME_SHOWN - 1] + "…"
            _refuse(web.HTTPBadRequest, tr, "sandbox.error_unknown_job", person, form, job=shown)
        await self._settle()
        extra = {"job": result.job, "done": result.message, "count": str(result.count)}
        extra["since"] = str(since)
        # To the result, just above the jobs form: the coordinator sees what the job did.
        raise web.HTTPSeeOther(page_url(person, _lang(form), extra, anchor="status"))

    async def _handle(self, event: CommandReceived | FormSubmitted) -> list[Card]:
        """The engine's answer; `DatabaseAway` (a 503 page) when its transaction failed
        because the database is away: the engine then answers with its outage notice, or
        "something went wrong" when it could not tell, which the page would show as if the
        person's action had been taken in."""
        cards = await self.engine.handle(event)
        titles = {card.title for card in cards}
        if titles & {t(language, "outage.title") for language in LANGUAGES}:
            raise DatabaseAway()  # the engine saw the database away
        failed = {t(language, "errors.internal_title") for language in LANGUAGES}
        if titles & failed and not await self.engine.database.reachable():
            raise DatabaseAway()
        return cards

    async def _show(self, person: Person, cards: list[Card]) -> None:
        """The engine's answer in the person's own conversation, then what it queued delivered."""
        for card in cards:
            self.transcripts.add("direct", person.user_ref, card=card)
        await self._settle()

    async def _settle(self) -> None:
        if self.after_action is None:
            return
        try:
            await self.after_action()
        except Exception as error:
            if not unavailable(error):
                raise
            # What the person did is committed; the outbox delivers the rest when it can.
            log.warning("sandbox: the outbox could not be drained: the database is away")

    # ----------------------------------------------------------------- the page
    async def page(self, request: web.Request) -> web.Response:
        await self._settle()
        people = await directory(self.engine.database, PLATFORM)
        lang = _lang(request.query)
        wanted = request.query.get("as", "")
        # No name: the first person. A name nobody has: said so, never someone else's page.
        person = next((p for p in people if p.user_ref == wanted), None)
        if wanted and person is None:
            _unknown_person(people, wanted, lang)
        if person is None and people:
            person = people[0]
        tr = Tr(language_of(lang, person.language if person else "fr"))
        viewer = viewer_of(person) if person is not None else None
        channels = []
        if person is not None:
            for ref, name in await team_channels(self.engine.database, person.team_slug, PLATFORM):
                channels.append(Channel(ref, name, self.transcripts.of("channel", ref)))
        state = PageState(
            tr=tr,
            people=people,
            viewer=viewer,
            lang=lang,
            since=_number(request.query["since"]) if "since" in request.query else None,
            direct=self.transcripts.of("direct", person.user_ref) if person else [],
            channels=channels,
            flash=_job_flash(request.query, tr),
        )
        return web.Response(text=page_html(state), content_type="text/html")

    # ----------------------------------------------------------------- helpers
    async def _person_or_refuse(self, form: Mapping[str, object]) -> Person:
        wanted = str(form.get("as", ""))
        people = await directory(self.engine.database, PLATFORM)
        person = next((p for p in people if p.user_ref == wanted), None)
        if person is None:
            _unknown_person(people, wanted, _lang(form))
        return person

    async def _channel_place(self, person: Person) -> Place | None:
        channels = await team_channels(self.engine.database, person.team_slug, PLATFORM)
        return Place(PLATFORM, "", channels[0][0], channels[0][1]) if channels else None

    @staticmethod
    def _actor(person: Person) -> Actor:
        return Actor(PLATFORM, "", person.user_ref, person.display_name, None, person.language)


async def _form(request: web.Request) -> Mapping[str, object]:
    """The posted form, or a 400 page: aiohttp raises on a urlencoded body that is not UTF-8
    (UnicodeDecodeError) and on a multipart body it cannot split (ValueError and kin: no
    boundary, a boundary over 70 characters, a part without a name, no opening boundary).
    A browser never sends those; nothing is recorded."""
    try:
        return await request.post()
    except web.HTTPException:
        raise  # aiohttp's own answers (a body over the size limit: 413)
    except Exception as error:  # any body aiohttp cannot read as a form is the sender's
        log.info("sandbox: unreadable form (%s)", type(error).__name__)
        tr = Tr(language_of(_lang(request.query), "fr"))
        html = problem_html(tr, tr("sandbox.error_unreadable_form"), "/sandbox")
        raise web.HTTPBadRequest(text=html, content_type="text/html") from None


def _lang(form: Mapping[str, object]) -> str | None:
    raw = str(form.get("lang", ""))
    return raw if raw in LANGUAGES else None


def _tr(form: Mapping[str, object], person: Person | None) -> Tr:
    return Tr(language_of(_lang(form), person.language if person else "fr"))


def _number(raw: str | None) -> int:
    try:
        return max(0, int(raw or "0"))
    except ValueError:
        return 0


def _job_flash(query: Mapping[str, str], tr: Tr) -> str:
    key, job = query.get("done", ""), query.get("job", "")
    if not key.startswith("jobs.") or job not in JOB_NAMES:
        return ""
    try:
        message = tr(key, count=_number(query.get("count")))
    except KeyError:
        return ""
    return f"{tr(f'sandbox.job.{job}')} — {message}"


def _refuse(
    kind: type[web.HTTPClientError],
    tr: Tr,
    key: str,
    person: Person | None,
    form: Mapping[str, object],
    **params: object,
) -> NoReturn:
    """A readable page (in the person's language) with a way back; nothing was changed."""
    html = problem_html(tr, tr(key, **params), page_url(person, _lang(form)))
    raise kind(text=html, content_type="text/html")


def _unknown_person(people: list[Person], wanted: str, lang: str | None) -> NoReturn:
    """400: nobody is called `wanted`. In the language asked for first, then in the other:
    whose language it is cannot be known, so both are given."""
    languages = [lang] if lang else []
    languages += [language for language in LANGUAGES if language not in languages]
    html = unknown_person_html(people, wanted, languages)
    raise web.HTTPBadRequest(text=html, content_type="text/html")


class DatabaseAway(Exception):
    """The database did not answer: nothing was recorded (the outage page)."""


def _outage_page(handler: Handler) -> Handler:
    """`handler`, or a 503 page saying that the database is away (nothing was recorded)."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException:
            raise  # the handlers' own answers (redirects, refusals)
        except Exception as error:
            if not isinstance(error, DatabaseAway) and not unavailable(error):
                raise
            log.warning("sandbox: the database is unavailable")
            asked, persona = await _asked(request)
            back = "/sandbox?" + urlencode(
                {k: v for k, v in (("as", persona), ("lang", asked)) if v}
            )
            html = outage_html([asked] if asked else list(LANGUAGES), back)
            raise web.HTTPServiceUnavailable(
                text=html,
                content_type="text/html",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from None

    return guarded


async def _asked(request: web.Request) -> tuple[str | None, str]:
    """(the page's `lang`, the persona `as`), from the query or the form (already read:
    aiohttp keeps it)."""
    fields: Mapping[str, object] = request.query
    if request.method == "POST":
        with contextlib.suppress(Exception):  # a body that cannot be read: the query alone
            fields = {**request.query, **await request.post()}
    return _lang(fields), str(fields.get("as", ""))[:200]
