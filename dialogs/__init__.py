"""Passerelle's platform-neutral dialog engine.

Nothing here imports a chat SDK, aiohttp or an adapter: the engine receives neutral events
(`dialogs.events`) and answers with neutral cards (`dialogs.cards`).
"""
