"""Passerelle's platform-neutral dialog engine, and one package per ritual.

Nothing here imports a chat SDK, aiohttp or an adapter: the engine receives neutral events
(`dialogs.events`) and answers with neutral cards (`dialogs.cards`). The rituals
(`dialogs.checkins`, `dialogs.tensions`...) declare what they bring in their `RITUAL`, and the
engine finds them through `dialogs.rituals` (see docs/architecture.md).
"""
