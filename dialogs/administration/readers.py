"""Who reads a team's summaries: the team's rule, and the members its coordinators confirm.

The rule is `Team.summary_readers` (set in the settings, see `dialogs.turn.is_reader`). Under
"confirmed", a member who declares a management position in their profile does not read the
summaries until a coordinator confirms them: the coordinators get a notice with a button to
do it, and the member is told their access waits for it. The `readers` command lists members
(those who declared a management position first) in one form: a person, and whether they read.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import outbound
from dialogs.cards import Button, Card, ChoiceInput, Form, Paragraph, notice
from dialogs.forms import choice, one_of, parse_id, refused
from dialogs.i18n import Tr
from dialogs.turn import MANAGEMENT_POSITIONS, READER_RULES, Turn
from storage import teams
from storage.models import Member, Team

YES_NO = ("yes", "no")


def name_of(member: Member) -> str:
    return member.display_name or member.user_ref


def _candidates(members: Sequence[Member]) -> list[Member]:
    """Members a coordinator may confirm: those awaiting (a declared management position,
    not confirmed) first, then current readers, then everyone else, each by name."""

    def rank(m: Member) -> tuple[int, str]:
        awaiting = m.position in MANAGEMENT_POSITIONS and not m.reads_summaries
        return (0 if awaiting else 1 if m.reads_summaries else 2, name_of(m).casefold())

    return sorted((m for m in members if not m.is_coordinator), key=rank)


def _label(tr: Tr, member: Member) -> str:
    position = tr(f"position.{member.position}") if member.position else tr("readers.no_position")
    state = tr("readers.state_yes" if member.reads_summaries else "readers.state_no")
    # The state first: Slack cuts an option past 75 characters, and the position matters less.
    return f"{name_of(member)} — {state} — {position}"


def rule_choice(tr: Tr, current: str) -> ChoiceInput:
    """The settings' choice of who reads summaries."""
    options = [(rule, tr(f"readers.rule.{rule}")) for rule in READER_RULES]
    return choice("summary_readers", tr("readers.rule_label"), options, current)


async def readers_card(session: AsyncSession, tr: Tr, team: Team) -> Card:
    members = await teams.active_members(session, team.id)
    candidates = _candidates(members)
    confirmed = [name_of(m) for m in members if m.reads_summaries and not m.is_coordinator]
    awaiting = [
        name_of(m)
        for m in candidates
        if m.position in MANAGEMENT_POSITIONS and not m.reads_summaries
    ]
    blocks: list[Paragraph | ChoiceInput] = [
        Paragraph(text=tr(f"readers.now.{team.summary_readers}"))
    ]
    blocks.append(
        Paragraph(
            text=tr("readers.confirmed_list", names=", ".join(confirmed))
            if confirmed
            else tr("readers.confirmed_none")
        )
    )
    if awaiting:
        blocks.append(Paragraph(text=tr("readers.awaiting_list", names=", ".join(awaiting))))
    settings = Button(
        label=tr("readers.settings_button"),
        action="command",
        context={"team": team.slug, "text": "settings"},
    )
    if not candidates:
        blocks.append(Paragraph(text=tr("readers.nobody")))
        return Card(title=tr("readers.title", team=team.name), blocks=blocks, buttons=[settings])
    blocks += [
        choice(
            "member",
            tr("readers.member_label"),
            [(str(m.id), _label(tr, m)) for m in candidates],
            str(candidates[0].id),
        ),
        choice(
            "reads",
            tr("readers.reads_label"),
            [("yes", tr("readers.reads_yes")), ("no", tr("readers.reads_no"))],
            "yes",
        ),
    ]
    return Card(
        title=tr("readers.title", team=team.name),
        blocks=blocks,
        form=Form(
            action="readers.save", submit_label=tr("common.save"), context={"team": team.slug}
        ),
        buttons=[settings],
    )


async def _member_of(turn: Turn, raw: str | None) -> Member | None:
    """The member a form or button names, if it is an active non-coordinator of this team
    (anything else, another team's member included, is refused as client data)."""
    assert turn.team is not None
    member = await turn.session.get(Member, parse_id(raw))
    if member is None or member.team_id != turn.team.id or not member.active:
        return None
    return None if member.is_coordinator else member


async def save(turn: Turn, values: dict[str, str]) -> Card:
    """`readers.save`: confirm or withdraw one member."""
    tr = turn.tr
    member = await _member_of(turn, values.get("member"))
    if member is None:
        return refused(tr, "readers.unknown_member")
    reads = one_of(values.get("reads"), YES_NO, tr("readers.reads_label")) == "yes"
    await _set(turn, member, reads)
    key = "readers.saved_yes" if reads else "readers.saved_no"
    return notice(tr("readers.saved_title"), tr(key, name=name_of(member)))


async def confirm(turn: Turn, raw_member: str | None) -> Card:
    """`readers.confirm`: the button of the notice a coordinator got."""
    tr = turn.tr
    member = await _member_of(turn, raw_member)
    if member is None:
        return refused(tr, "readers.unknown_member")
    await _set(turn, member, True)
    return notice(tr("readers.saved_title"), tr("readers.saved_yes", name=name_of(member)))


async def _set(turn: Turn, member: Member, reads: bool) -> None:
    assert turn.team is not None
    if member.reads_summaries == reads:
        return
    member.reads_summaries = reads
    tr = Tr(member.language or turn.team.language)
    key = "readers.granted" if reads else "readers.withdrawn"
    await outbound.to_member(
        turn.session,
        turn.team,
        member,
        notice(tr("readers.access_title"), tr(key, team=turn.team.name)),
        key=f"readers:{member.id}:{int(reads)}:{turn.now.isoformat()}",
        now=turn.now,
    )


def awaits_confirmation(team: Team, member: Member, previous_position: str | None) -> bool:
    """A member just declared a management position their team does not take on trust."""
    return (
        team.summary_readers == "confirmed"
        and member.position in MANAGEMENT_POSITIONS
        and member.position != previous_position
        and not member.reads_summaries
        and not member.is_coordinator
    )


async def ask_coordinators(turn: Turn, team: Team, member: Member) -> int:
    """Each coordinator gets a notice offering to confirm `member` as a reader."""

    def card(tr: Tr, coordinator: Member) -> Card:
        position = tr(f"position.{member.position}")
        return Card(
            title=tr("readers.ask_title"),
            blocks=[
                Paragraph(
                    text=tr("readers.ask", name=name_of(member), position=position, team=team.name)
                )
            ],
            buttons=[
                Button(
                    label=tr("readers.confirm_button", name=name_of(member)),
                    action="readers.confirm",
                    context={"team": team.slug, "member": str(member.id)},
                    style="primary",
                ),
                Button(
                    label=tr("readers.list_button"),
                    action="command",
                    context={"team": team.slug, "text": "readers"},
                ),
            ],
        )

    coordinators = [
        m
        for m in await teams.active_members(turn.session, team.id)
        if m.is_coordinator and m.id != member.id
    ]
    return await outbound.to_each(
        turn.session,
        team,
        coordinators,
        card,
        key=lambda coordinator: f"readers-ask:{member.id}:{coordinator.id}:{turn.now.isoformat()}",
        now=turn.now,
        # Coordinators' work, as a review request is: the manager's access waits on it.
        respect_quiet_hours=False,
    )
