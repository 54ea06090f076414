"""A console platform: people type lines, Passerelle answers with card text.

The proof that a platform is one package (adapters/platform.py): it holds its translation
(`console`), its registration (`platform`) and nothing else; bot/server.py names it once.
"""
