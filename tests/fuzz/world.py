"""What the fuzzed server knows before the first payload: one team per platform (Slack, Teams,
sandbox), each with onboarded members, a coordinator and an open check-in round, written with
the engine under the server's sealing key; and the real cards people of those teams are shown
(check-in, tension, success, profile, setup, settings...), from which the generators build
payloads that reach deep into the app (a modal signed for its person, a real button's value, a
real card's `data`) before they mutate them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.slack.blocks import form_metadata, messages_for, modal_view
from adapters.slack.events import ModalMetadata
from dialogs.cards import Card
from dialogs.checkins import round_store as rounds
from dialogs.engine import Engine
from dialogs.events import Actor, CommandReceived, Place
from storage import teams
from storage.database import Database
from storage.models import Member
from storage.sealing import Sealer
from tests.checkin_rounds import checkin_cards
from tests.fake_connector import FakeConnector
from tests.fake_slack import FakeSlack
from tests.slack_signing import TEAM_ID
from tests.teams_activities import TENANT

SECRET = "fuzz-test-secret-0123456789-abcdefghijklmnopq"
MEMBERS = 6  # per platform; the first is the coordinator
SLACK_CHANNEL = "C0FUZZ001"
TEAMS_TEAM = ("19:fuzz-team@thread.tacv2", "Fuzz")
SANDBOX_CHANNEL = "fuzz-equipe"
# Typed by members: every command word, in both languages, with arguments.
COMMANDS = (
    "help", "aide", "checkin", "bilan maintenant", "tension", "success", "réussite",
    "profile", "profil", "summary", "sommaire", "setup", "settings", "paramètres",
    "schedule", "horaire pause", "reflexive", "checkin now", "checkin skip",
)  # fmt: skip


@dataclass
class Platform:
    name: str
    workspace: str
    channel: str
    users: list[str]
    round_id: int = 0
    team_id: int = 0
    cards: list[Card] = field(default_factory=list)


@dataclass
class World:
    slack: Platform
    teams: Platform
    sandbox: Platform
    sealer: Sealer
    # Slack: (user, blocks of a message shown to them), (user, modal signed for them).
    slack_messages: list[tuple[str, list[dict[str, object]]]] = field(default_factory=list)
    slack_modals: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    @property
    def round_ids(self) -> list[int]:
        return [p.round_id for p in (self.slack, self.teams, self.sandbox)]

    @property
    def team_ids(self) -> list[int]:
        return [p.team_id for p in (self.slack, self.teams, self.sandbox)]


def platforms() -> tuple[Platform, Platform, Platform]:
    return (
        Platform("slack", TEAM_ID, SLACK_CHANNEL, [f"U0FZ{n:05d}" for n in range(MEMBERS)]),
        Platform("teams", TENANT, TEAMS_TEAM[0], [f"29:fuzz-{n}" for n in range(MEMBERS)]),
        Platform("sandbox", "", SANDBOX_CHANNEL, [f"fuzz-{n}" for n in range(MEMBERS)]),
    )


def prepare_fakes(world: World, slack: FakeSlack, connector: FakeConnector) -> None:
    """The same people on the fakes, so that users.info and rosters answer."""
    for ref in world.slack.users:
        slack.add_user(ref, tz="America/Toronto", locale="fr-CA")
    slack.add_channel(SLACK_CHANNEL, "fuzz", members=world.slack.users)
    for n, ref in enumerate(world.teams.users):
        connector.add_user(ref, f"Fuzz {n}")
    connector.add_team(TEAMS_TEAM[0], TEAMS_TEAM[1], members=world.teams.users)


async def _seed(engine: Engine, platform: Platform) -> None:
    slug = f"fuzz-{platform.name}"
    async with engine.database.session() as session, session.begin():
        team = await teams.create_team(
            session, slug=slug, name=f"Fuzz {platform.name}", now=engine.clock(),
            language="fr", timezone="America/Toronto", quiet_start=0, quiet_end=0, k=3,
        )  # fmt: skip
        await teams.link_channel(
            session, team, platform.name, platform.workspace, platform.channel, "fuzz"
        )
        for n, ref in enumerate(platform.users):
            session.add(
                Member(
                    team_id=team.id, platform=platform.name, workspace=platform.workspace,
                    user_ref=ref, display_name=f"fuzz {n}",
                    sector=("public", "community")[n % 2],
                    position=("front_line", "manager")[n % 3 == 2],
                    language=("fr", "en")[n % 2], timezone="America/Toronto",
                    is_coordinator=n == 0, onboarded=True,
                )
            )  # fmt: skip
        platform.team_id = team.id
    await engine.jobs.run("checkin", slug)
    async with engine.database.session() as session:
        round_ = await rounds.open_round_of(session, platform.team_id)
        assert round_ is not None
        platform.round_id = round_.id
        platform.cards += await checkin_cards(session, round_.id, 2)


async def _harvest(engine: Engine, platform: Platform) -> None:
    """The cards the coordinator gets for every command (in the DM, and a few in the team's
    channel) and a member for theirs, kept when they carry a form or buttons (at most three
    of each kind)."""
    place = Place(platform.name, platform.workspace, platform.channel, "fuzz")
    kinds: dict[tuple[object, ...], int] = {}
    asked: list[tuple[int, str, Place | None]] = [(0, text, None) for text in COMMANDS]
    asked += [(0, text, place) for text in ("setup", "checkin now", "tension")]
    asked += [(1, text, None) for text in ("checkin", "tension", "success", "profile")]
    for n, text, where in asked:
        ref = platform.users[n]
        actor = Actor(platform.name, platform.workspace, ref, ref, "America/Toronto", "fr-CA")
        for card in await engine.handle(CommandReceived(actor, text, where)):
            kind = (card.form.action if card.form else None, *(b.action for b in card.buttons))
            if (card.form is not None or card.buttons) and kinds.get(kind, 0) < 3:
                kinds[kind] = kinds.get(kind, 0) + 1
                platform.cards.append(card)


def _slack_samples(world: World) -> None:
    tag = world.sealer.tag
    for n, card in enumerate(world.slack.cards):
        user = world.slack.users[n % 2]
        for _, blocks in messages_for(card):
            world.slack_messages.append((user, blocks))
        if card.form is not None:
            metadata = ModalMetadata(form_metadata(card.form), SLACK_CHANNEL, "fuzz")
            signed = metadata.signed(tag, TEAM_ID, user)
            world.slack_modals.append((user, modal_view(card, private_metadata=signed)))


async def build(database: Database) -> World:
    """Seed `database` (migrated, empty) and collect the samples."""
    sealer = Sealer(SECRET)
    engine = Engine(database, sealer=sealer)
    slack, teams_, sandbox = platforms()
    world = World(slack, teams_, sandbox, sealer)
    for platform in (slack, teams_, sandbox):
        await _seed(engine, platform)
        await _harvest(engine, platform)
    _slack_samples(world)
    return world
