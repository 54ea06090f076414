"""Dedupe keys: a stable hash of what identifies a write, stored in a unique column so that a
double click, a retry or a second process writes once (see `storage.upsert.insert_ignore`)."""

from __future__ import annotations

import hashlib


def digest(*parts: object) -> str:
    """SHA-256 of the parts joined by a separator no part is expected to hold."""
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
