"""The local sandbox: a web page where each demo person talks to the engine.

It uses the same engine and outbox as Slack and Teams. Replies to a person's own action are
shown at once; everything else arrives through the outbox worker, as on a real platform.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

from adapters.sandbox.render import card_html
from adapters.sandbox.transcript import Entry, Transcripts
from dialogs.engine import Engine, Person, directory, team_channels
from dialogs.events import Actor, CommandReceived, FormSubmitted, Place
from dialogs.i18n import Tr, language_of
from dialogs.jobs import JOB_NAMES, UnknownJob, UnknownTeam

PLATFORM = "sandbox"
STATIC = Path(__file__).with_name("static")
AfterAction = Callable[[], Awaitable[object]]


class Sandbox:
    def __init__(
        self, engine: Engine, transcripts: Transcripts, after_action: AfterAction | None = None
    ) -> None:
        self.engine = engine
        self.transcripts = transcripts
        self.after_action = after_action

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/sandbox", self.page),
            web.post("/sandbox/command", self.command),
            web.post("/sandbox/submit", self.submit),
            web.post("/sandbox/run", self.run_job),
            web.static("/sandbox/static", STATIC),
        ]

    # ----------------------------------------------------------------- actions
    async def command(self, request: web.Request) -> web.Response:
        form = await request.post()
        person = await self._person(str(form.get("as", "")))
        text = str(form.get("text", "")).strip()
        if person is not None and text:
            place = await self._channel_place(person) if form.get("in_channel") else None
            self.transcripts.add("direct", person.user_ref, said=text)
            for card in await self.engine.handle(CommandReceived(self._actor(person), text, place)):
                self.transcripts.add("direct", person.user_ref, card=card)
            await self._settle()
        raise web.HTTPSeeOther(self._page_url(person, form.get("lang")))

    async def submit(self, request: web.Request) -> web.Response:
        form = await request.post()
        person = await self._person(str(form.get("as", "")))
        if person is None:
            raise web.HTTPBadRequest(text="unknown person")
        action = str(form.get("action", ""))
        if not action:
            raise web.HTTPBadRequest(text="missing action")
        context = {k[4:]: str(v) for k, v in form.items() if k.startswith("ctx.")}
        values = {
            k: str(v)
            for k, v in form.items()
            if k not in ("as", "action", "lang") and not k.startswith("ctx.")
        }
        event = FormSubmitted(self._actor(person), action, context, values)
        for card in await self.engine.handle(event):
            self.transcripts.add("direct", person.user_ref, card=card)
        await self._settle()
        raise web.HTTPSeeOther(self._page_url(person, form.get("lang")))

    async def run_job(self, request: web.Request) -> web.Response:
        form = await request.post()
        person = await self._person(str(form.get("as", "")))
        if person is None or not person.is_coordinator:
            raise web.HTTPForbidden(text="only a coordinator can run jobs")
        try:
            result = await self.engine.jobs.run(str(form.get("job", "")), person.team_slug)
        except (UnknownJob, UnknownTeam) as problem:
            raise web.HTTPBadRequest(text=f"unknown job or team: {problem}") from None
        await self._settle()
        extra = {"done": result.message, "count": str(result.count), "job": result.job}
        raise web.HTTPSeeOther(self._page_url(person, form.get("lang"), extra))

    async def _settle(self) -> None:
        if self.after_action is not None:
            await self.after_action()

    # ----------------------------------------------------------------- the page
    async def page(self, request: web.Request) -> web.Response:
        people = await directory(self.engine, PLATFORM)
        wanted = request.query.get("as", "")
        person = next((p for p in people if p.user_ref == wanted), people[0] if people else None)
        tr = Tr(language_of(request.query.get("lang"), person.language if person else "fr"))
        body = [
            f'<a class="skip" href="#conversation">{escape(tr("sandbox.skip"))}</a>',
            "<header>",
            f"<h1>{escape(tr('sandbox.title'))}</h1>",
            f"<p>{escape(tr('sandbox.local_only'))}</p>",
            self._people_nav(people, person, tr, request.query.get("lang")),
            self._language_nav(person, tr),
            "</header><main>",
        ]
        if person is None:
            body.append(f"<p>{escape(tr('sandbox.no_people'))}</p>")
        else:
            if "done" in request.query:
                body.append(self._flash(request, tr))
            body.append(self._conversation(person, tr))
            body.append(await self._channel(person, tr))
            if person.is_coordinator:
                body.append(self._jobs(person, tr))
        body.append("</main>")
        html = (
            f'<!doctype html><html lang="{tr.language}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(tr('sandbox.title'))}</title>"
            '<link rel="stylesheet" href="/sandbox/static/sandbox.css"></head>'
            f"<body>{''.join(body)}</body></html>"
        )
        return web.Response(text=html, content_type="text/html")

    def _people_nav(
        self, people: list[Person], current: Person | None, tr: Tr, lang: str | None
    ) -> str:
        items = []
        for p in people:
            role = " · ".join(
                filter(
                    None,
                    [
                        tr(f"sector.{p.sector}") if p.sector else "",
                        tr(f"position.{p.position}") if p.position else "",
                    ],
                )
            )
            current_attr = (
                ' aria-current="page"' if current and p.user_ref == current.user_ref else ""
            )
            items.append(
                f'<li><a href="{escape(self._page_url(p, lang))}"{current_attr}>'
                f"{escape(p.display_name)}</a> <small>{escape(role)}</small></li>"
            )
        return (
            f'<nav aria-label="{escape(tr("sandbox.people"))}">'
            f"<h2>{escape(tr('sandbox.people'))}</h2>"
            f'<ul class="people">{"".join(items)}</ul></nav>'
        )

    def _language_nav(self, person: Person | None, tr: Tr) -> str:
        other = "en" if tr.language == "fr" else "fr"
        url = self._page_url(person, other)
        return (
            f'<p class="lang"><a href="{escape(url)}" lang="{other}">'
            f"{escape(tr('sandbox.other_language'))}</a></p>"
        )

    def _conversation(self, person: Person, tr: Tr) -> str:
        entries = self.transcripts.of("direct", person.user_ref)
        log = (
            "".join(self._entry(e, person, tr) for e in entries)
            or f"<p>{escape(tr('sandbox.empty'))}</p>"
        )
        return (
            '<section id="conversation" aria-labelledby="conversation-title">'
            f'<h2 id="conversation-title">'
            f"{escape(tr('sandbox.conversation', name=person.display_name))}</h2>"
            f'<div class="log" aria-live="polite">{log}</div>'
            '<form method="post" action="/sandbox/command" class="composer">'
            f'<input type="hidden" name="as" value="{escape(person.user_ref)}">'
            f'<input type="hidden" name="lang" value="{tr.language}">'
            f'<label for="command">{escape(tr("sandbox.write"))}</label>'
            '<input id="command" name="text" autocomplete="off" required>'
            f'<label class="inline"><input type="checkbox" name="in_channel" value="1"> '
            f"{escape(tr('sandbox.in_channel'))}</label>"
            f'<button type="submit" class="primary">{escape(tr("sandbox.send"))}</button></form>'
            "</section>"
        )

    async def _channel(self, person: Person, tr: Tr) -> str:
        parts = []
        for ref, name in await team_channels(self.engine, person.team_slug, PLATFORM):
            entries = self.transcripts.of("channel", ref)
            log = (
                "".join(self._entry(e, person, tr) for e in entries)
                or f"<p>{escape(tr('sandbox.empty'))}</p>"
            )
            parts.append(
                f'<section id="channel" aria-labelledby="channel-title">'
                f'<h2 id="channel-title">{escape(tr("sandbox.channel", name=name or ref))}</h2>'
                f'<div class="log" aria-live="polite">{log}</div></section>'
            )
        return "".join(parts)

    def _entry(self, entry: Entry, person: Person, tr: Tr) -> str:
        if entry.said is not None:
            return (
                f'<p class="said" id="m{entry.number}">'
                f"<strong>{escape(tr('sandbox.you'))}</strong> "
                f"{escape(entry.said)}</p>"
            )
        assert entry.card is not None
        return card_html(entry.card, persona=person.user_ref, number=entry.number, tr=tr)

    def _jobs(self, person: Person, tr: Tr) -> str:
        options = "".join(
            f'<option value="{job}">{escape(tr(f"sandbox.job.{job}"))}</option>'
            for job in JOB_NAMES
        )
        return (
            '<section id="jobs" aria-labelledby="jobs-title">'
            f'<h2 id="jobs-title">{escape(tr("sandbox.jobs"))}</h2>'
            f"<p>{escape(tr('sandbox.jobs_intro'))}</p>"
            '<form method="post" action="/sandbox/run">'
            f'<input type="hidden" name="as" value="{escape(person.user_ref)}">'
            f'<input type="hidden" name="lang" value="{tr.language}">'
            f'<label for="job">{escape(tr("sandbox.job_label"))}</label>'
            f'<select id="job" name="job">{options}</select> '
            f'<button type="submit" class="primary">{escape(tr("sandbox.run"))}</button></form>'
            "</section>"
        )

    def _flash(self, request: web.Request, tr: Tr) -> str:
        key = request.query.get("done", "")
        try:
            count = int(request.query.get("count", "0"))
            message = tr(key, count=count) if key.startswith("jobs.") else ""
        except (KeyError, ValueError):
            message = ""
        job = request.query.get("job", "")
        label = tr(f"sandbox.job.{job}") if job in JOB_NAMES else ""
        return (
            f'<p class="flash" role="status">{escape(label)} — {escape(message)}</p>'
            if message
            else ""
        )

    # ----------------------------------------------------------------- helpers
    async def _person(self, user_ref: str) -> Person | None:
        return next(
            (p for p in await directory(self.engine, PLATFORM) if p.user_ref == user_ref), None
        )

    async def _channel_place(self, person: Person) -> Place | None:
        channels = await team_channels(self.engine, person.team_slug, PLATFORM)
        return Place(PLATFORM, "", channels[0][0], channels[0][1]) if channels else None

    @staticmethod
    def _actor(person: Person) -> Actor:
        return Actor(PLATFORM, "", person.user_ref, person.display_name, None, person.language)

    @staticmethod
    def _page_url(
        person: Person | None, lang: object = None, extra: dict[str, str] | None = None
    ) -> str:
        query = {"as": person.user_ref} if person else {}
        if lang:
            query["lang"] = str(lang)
        query.update(extra or {})
        return "/sandbox?" + urlencode(query) + "#conversation"
