"""Anonymous tensions: written with a preview of who will read them and when, sealed until
the coordinators' review or the weekly batch, posted shuffled, answered through a code.

`writing` holds the forms and the sealing, `batches` the review and the weekly post,
`rate_limit` the weekly limit per person; `handlers` and `jobs` are what people and the
calendar do with them.
"""

from __future__ import annotations

from pathlib import Path

from dialogs.i18n import add_locales
from dialogs.registry import ActionSpec, CommandSpec, Entry, JobSpec, Ritual
from dialogs.tensions import handlers, jobs, settings

RITUAL = Ritual(
    name="tensions",
    commands=(CommandSpec("tension", (), handlers.tension_command),),
    actions={
        "tension.preview": ActionSpec(handlers.preview, form=handlers.draft_form),
        "tension.edit": ActionSpec(handlers.edit),
        "tension.cancel": ActionSpec(handlers.cancel),
        "tension.confirm": ActionSpec(handlers.confirm, form=handlers.draft_form),
        "tension.approve": ActionSpec(handlers.review, coordinator=True),
        "tension.reject": ActionSpec(handlers.review, coordinator=True, form=handlers.review_form),
        "tension.reply_form": ActionSpec(handlers.open_reply_form, coordinator=True),
        "tension.reply": ActionSpec(handlers.reply, coordinator=True, form=handlers.reply_form),
    },
    jobs=(
        JobSpec("batch", jobs.batch, trigger=jobs.batch_trigger),
        JobSpec("tension-prompt", jobs.prompt, trigger=jobs.prompt_trigger),
        JobSpec("review", jobs.review, trigger=jobs.review_trigger),
    ),
    entries=(Entry("tension", home="tension"),),
    accepts=handlers.known_prompt,
    settings=settings.FIELD_GROUPS,
)

# Its strings join the catalogue as soon as any of its modules is imported.
add_locales(Path(__file__).with_name("locales"))
