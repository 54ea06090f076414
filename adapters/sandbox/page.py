"""The sandbox page as HTML: the persona switcher, one conversation, the team channel, jobs.

Plain server-rendered HTML, no script: every control is a link or a form. Logs show the newest
entry first, so what an action produced is right under the form that caused it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import urlencode

from adapters.sandbox.people import Viewer
from adapters.sandbox.render import CardView, card_html
from adapters.sandbox.transcript import Entry
from dialogs.directory import Person
from dialogs.i18n import Tr
from dialogs.jobs import JOB_NAMES

# A name echoed back in an error is cut here: an address may carry thousands of characters.
NAME_SHOWN = 60
# First letters before which French elides "de" (accents stripped first: É, Ï).
ELIDING = frozenset("aeiouyh")


@dataclass(frozen=True)
class Channel:
    ref: str
    name: str
    entries: list[Entry]


@dataclass(frozen=True)
class PageState:
    tr: Tr
    people: Sequence[Person]
    viewer: Viewer | None
    lang: str | None  # the language asked for in the address, kept on every link
    since: int | None  # entries numbered above this arrived with the last action
    direct: list[Entry]
    channels: list[Channel]
    flash: str = ""


def page_url(
    person: Person | None,
    lang: object = None,
    extra: dict[str, str] | None = None,
    *,
    anchor: str = "conversation",
) -> str:
    query = {"as": person.user_ref} if person else {}
    if lang:
        query["lang"] = str(lang)
    query.update(extra or {})
    return "/sandbox?" + urlencode(query) + "#" + anchor


def document(tr: Tr, title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="{tr.language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        '<link rel="stylesheet" href="/sandbox/static/sandbox.css"></head>'
        f"<body>{body}</body></html>"
    )


def page_html(state: PageState) -> str:
    tr, viewer = state.tr, state.viewer
    person = viewer.person if viewer else None
    body = [
        f'<a class="skip" href="#conversation">{escape(tr("sandbox.skip"))}</a>',
        "<header>",
        f"<h1>{escape(tr('sandbox.title'))}</h1>",
        f"<p>{escape(tr('sandbox.local_only'))}</p>",
        _language_link(person, tr),
        "</header>",
        _people_nav(state),
        "<main>",
    ]
    if viewer is None:
        body.append(f"<p>{escape(tr('sandbox.no_people'))}</p>")
    else:
        body.append(_status(state))
        body.append(_jobs(state, viewer.person))
        body.append(_conversation(state, viewer))
        body.append(_channels(state, viewer))
    body.append("</main>")
    title = tr("sandbox.title")
    if person is not None:
        title = f"{person.display_name} — {title}"
    return document(tr, title, "".join(body))


def problem_html(tr: Tr, message: str, back: str) -> str:
    body = (
        "<main class='problem'>"
        f"<h1>{escape(tr('sandbox.error_title'))}</h1>"
        f'<p role="alert">{escape(message)}</p>'
        f'<p><a href="{escape(back)}">{escape(tr("sandbox.back"))}</a></p></main>'
    )
    return document(tr, tr("sandbox.error_title"), body)


def outage_html(languages: Sequence[str], back: str) -> str:
    """The page shown while the database is away, in each of `languages` (the one the page
    asked for; else all of them: without the database, the persona's language is unknown,
    and an English speaker must not be told in French only). The way back keeps the persona."""
    parts = []
    for index, language in enumerate(languages):
        tr = Tr(language)
        heading = "h1" if index == 0 else "h2"
        parts.append(
            f'<section lang="{language}">'
            f"<{heading}>{escape(tr('outage.title'))}</{heading}>"
            f'<p role="alert">{escape(tr("outage.retry"))}</p>'
            f'<p><a href="{escape(back)}">{escape(tr("sandbox.back"))}</a></p></section>'
        )
    first = Tr(languages[0])
    title = " / ".join(Tr(language)("outage.title") for language in languages)
    return document(first, title, "<main class='problem'>" + "".join(parts) + "</main>")


def unknown_person_html(people: Sequence[Person], wanted: str, languages: Sequence[str]) -> str:
    """The answer to an address or a form that names nobody in the sandbox (`?as=mallory`):
    said in each of `languages` (the page's own first, when it asked for one), with the people
    one can act as, each a link to their page in that language. Nothing was done as anybody."""
    parts = []
    name = wanted if len(wanted) <= NAME_SHOWN else wanted[: NAME_SHOWN - 1] + "…"
    for index, language in enumerate(languages):
        tr = Tr(language)
        heading = "h1" if index == 0 else "h2"
        if people:
            links = "".join(
                f'<li><a href="{escape(page_url(p, language))}">{escape(p.display_name)}</a>'
                f' <span class="role">{escape(role_of(p, tr))}</span></li>'
                for p in people
            )
            choose = f'<p>{escape(tr("sandbox.act_as"))}</p><ul class="choices">{links}</ul>'
        else:
            choose = f"<p>{escape(tr('sandbox.no_people'))}</p>"
        parts.append(
            f'<section lang="{language}">'
            f"<{heading}>{escape(tr('sandbox.unknown_person_title'))}</{heading}>"
            f'<p role="alert">{escape(tr("sandbox.unknown_person", name=name))}</p>'
            f"{choose}</section>"
        )
    title = " / ".join(Tr(language)("sandbox.unknown_person_title") for language in languages)
    return document(Tr(languages[0]), title, "<main class='problem'>" + "".join(parts) + "</main>")


# ----------------------------------------------------------------- the persona switcher
def role_of(person: Person, tr: Tr) -> str:
    parts = [
        tr(f"sector.{person.sector}") if person.sector else "",
        tr(f"position.{person.position}") if person.position else "",
    ]
    return " · ".join(p for p in parts if p)


def _people_nav(state: PageState) -> str:
    tr = state.tr
    current = state.viewer.person.user_ref if state.viewer else None
    items = []
    for p in state.people:
        here = p.user_ref == current
        mark = f'<span class="here">{escape(tr("sandbox.current"))}</span>' if here else ""
        current_attr = ' aria-current="page"' if here else ""
        items.append(
            f'<li><a class="person" href="{escape(page_url(p, state.lang))}"'
            f"{current_attr}>"
            f'<span class="name">{escape(p.display_name)}</span>{mark}'
            f'<span class="role">{escape(role_of(p, tr))}</span></a></li>'
        )
    return (
        '<nav class="switcher" aria-labelledby="people-title">'
        f'<h2 id="people-title">{escape(tr("sandbox.people"))}</h2>'
        f'<p class="hint">{escape(tr("sandbox.people_hint"))}</p>'
        f'<ul class="people">{"".join(items)}</ul></nav>'
    )


def _language_link(person: Person | None, tr: Tr) -> str:
    other = "en" if tr.language == "fr" else "fr"
    return (
        f'<p class="lang"><a href="{escape(page_url(person, other))}" lang="{other}" '
        f'hreflang="{other}">{escape(tr("sandbox.other_language"))}</a></p>'
    )


# ----------------------------------------------------------------- status and jobs
def _status(state: PageState) -> str:
    tr = state.tr
    fresh = sum(1 for e in state.direct if _is_new(state, e)) + sum(
        1 for c in state.channels for e in c.entries if _is_new(state, e)
    )
    lines = [state.flash] if state.flash else []
    if fresh:
        # Never zero here: singular for one alone, in French as in English. Both keys
        # literal, so tests/test_i18n.py checks that they exist.
        one, other = tr("sandbox.new_count.one", n=fresh), tr("sandbox.new_count.other", n=fresh)
        lines.append(one if fresh == 1 else other)
    if not lines:
        return ""
    return (
        '<p class="flash" id="status" role="status">' + " ".join(escape(x) for x in lines) + "</p>"
    )


def _jobs(state: PageState, person: Person) -> str:
    tr = state.tr
    if not person.is_coordinator:
        coordinators = [p for p in state.people if p.is_coordinator]
        if not coordinators:
            return ""
        links = ", ".join(
            f'<a href="{escape(page_url(c, state.lang))}">{escape(c.display_name)}</a>'
            for c in coordinators
        )
        return f'<p class="jobs-note">{escape(tr("sandbox.jobs_elsewhere"))} {links}</p>'
    options = "".join(
        f'<option value="{job}">{escape(tr(f"sandbox.job.{job}"))}</option>' for job in JOB_NAMES
    )
    return (
        '<section id="jobs" aria-labelledby="jobs-title">'
        f'<h2 id="jobs-title">{escape(tr("sandbox.jobs"))}</h2>'
        f'<p class="hint" id="jobs-intro">{escape(tr("sandbox.jobs_intro"))}</p>'
        '<form method="post" action="/sandbox/run" class="row">'
        f'<input type="hidden" name="as" value="{escape(person.user_ref)}">'
        + _keep_lang(state)
        + f'<label for="job">{escape(tr("sandbox.job_label"))}</label>'
        f'<select id="job" name="job" aria-describedby="jobs-intro">{options}</select>'
        f'<button type="submit" class="primary">{escape(tr("sandbox.run"))}</button></form>'
        "</section>"
    )


# ----------------------------------------------------------------- conversations
def _conversation(state: PageState, viewer: Viewer) -> str:
    tr, person = state.tr, viewer.person
    return (
        '<section id="conversation" aria-labelledby="conversation-title">'
        f'<h2 id="conversation-title">'
        f"{escape(conversation_title(tr, person.display_name))}</h2>"
        f'<p class="hint">{escape(role_of(person, tr))}</p>'
        '<form method="post" action="/sandbox/command" class="composer">'
        f'<input type="hidden" name="as" value="{escape(person.user_ref)}">'
        + _keep_lang(state)
        + f'<p class="field"><label for="command">{escape(tr("sandbox.write"))}</label>'
        '<input id="command" name="text" autocomplete="off" required></p>'
        '<p class="row"><label class="inline"><input type="checkbox" name="in_channel" value="1">'
        f" {escape(tr('sandbox.in_channel'))}</label>"
        f'<button type="submit" class="primary">{escape(tr("sandbox.send"))}</button></p></form>'
        + _log(state, viewer, state.direct, person.language, "conversation")
        + "</section>"
    )


def conversation_title(tr: Tr, name: str) -> str:
    """ "Émilie's conversation": French elides "de" before a vowel or a mute h (d’Émilie,
    d’Aïsha); the catalogue holds both forms, identical in English."""
    first = unicodedata.normalize("NFD", name[:1].casefold())[:1]
    key = "sandbox.conversation_elided" if first in ELIDING else "sandbox.conversation"
    return tr(key, name=name)


def _channels(state: PageState, viewer: Viewer) -> str:
    tr = state.tr
    parts = []
    for index, channel in enumerate(state.channels):
        title_id = f"channel-title-{index}"
        parts.append(
            f'<section class="channel" id="channel-{index}" aria-labelledby="{title_id}">'
            f'<h2 id="{title_id}">{escape(tr("sandbox.channel", name=channel.name or channel.ref))}'
            "</h2>"
            f'<p class="hint">{escape(tr("sandbox.channel_hint"))}</p>'
            + _log(state, viewer, channel.entries, viewer.team_language, f"channel-{index}")
            + "</section>"
        )
    return "".join(parts)


def _log(
    state: PageState, viewer: Viewer, entries: list[Entry], content_lang: str, name: str
) -> str:
    tr = state.tr
    order = tr("sandbox.times_in", zone=viewer.zone_name)
    if not entries:
        return f'<p class="empty">{escape(tr("sandbox.empty"))}</p>'
    items = "".join(_entry(state, viewer, entry, content_lang) for entry in reversed(entries))
    return (
        f'<p class="hint" id="{name}-order">{escape(order)}</p>'
        f'<ol class="log" reversed aria-describedby="{name}-order">{items}</ol>'
    )


def _entry(state: PageState, viewer: Viewer, entry: Entry, content_lang: str) -> str:
    tr = state.tr
    new = _is_new(state, entry)
    local = entry.at.astimezone(viewer.zone)
    when = tr(
        "sandbox.time",
        weekday=tr(f"weekday.{local.weekday()}"),
        hour=local.hour,
        minute=f"{local.minute:02d}",
    )
    badge = f' <strong class="badge">{escape(tr("sandbox.new"))}</strong>' if new else ""
    meta = (
        f'<p class="meta"><time datetime="{local.isoformat(timespec="minutes")}">'
        f"{escape(when)}</time>{badge}</p>"
    )
    if entry.said is not None:
        content = (
            f'<p class="said" id="m{entry.number}"><strong>{escape(tr("sandbox.you"))}</strong> '
            f"{escape(entry.said)}</p>"
        )
    else:
        assert entry.card is not None
        view = CardView(
            persona=viewer.person.user_ref,
            tr=tr,
            lang=content_lang if content_lang != tr.language else None,
            chosen_lang=state.lang,
        )
        content = card_html(entry.card, number=entry.number, view=view)
    css = "entry new" if new else "entry"
    return f'<li class="{css}">{meta}{content}</li>'


def _is_new(state: PageState, entry: Entry) -> bool:
    return state.since is not None and entry.number > state.since


def _keep_lang(state: PageState) -> str:
    return f'<input type="hidden" name="lang" value="{state.lang}">' if state.lang else ""
