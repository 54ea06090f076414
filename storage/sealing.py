"""Sealing: what a person submitted, unreadable in the database until its batch opens it.

A sealed payload is JSON, padded to a fixed bucket (so its length says nothing about what was
written), encrypted and authenticated with AES-GCM under a key derived (HKDF-SHA256) from the
server's secret. The secret is never written to the database: whoever holds a copy of the
database, its write-ahead log, a replica or a backup without the secret reads nothing sealed.

Each blob names the key that sealed it (a short id derived from the key), so a rotation can
keep the previous secret for opening while every new blob uses the current one. The
associated data (`purpose`) binds a blob to its routing (which round, which batch): a blob
moved to another round's row does not open.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
KEY_ID_BYTES = 4
NONCE_BYTES = 12
# Payloads are padded to a multiple of this: every form's text fits the first bucket.
BUCKET = 4096
MIN_SECRET_BYTES = 32


class SealBroken(Exception):
    """A blob that cannot be opened: unknown key (lost or rotated out) or tampered with."""


def new_secret() -> str:
    """A fresh secret, printable (for an environment variable or a key file)."""
    return secrets.token_urlsafe(MIN_SECRET_BYTES)


def _derive(secret: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)


class _Key:
    def __init__(self, secret: str) -> None:
        raw = secret.strip().encode()
        if len(raw) < MIN_SECRET_BYTES:
            raise ValueError(f"a sealing secret needs at least {MIN_SECRET_BYTES} characters")
        self.aead = AESGCM(_derive(raw, b"passerelle seal v1"))
        self.tagging = _derive(raw, b"passerelle tag v1")
        self.id = _derive(raw, b"passerelle key id v1")[:KEY_ID_BYTES]


class Sealer:
    """Seals with the current secret; opens with it or any previous one (rotation)."""

    def __init__(self, secret: str, previous: Sequence[str] = ()) -> None:
        self._current = _Key(secret)
        self._keys = {self._current.id: self._current}
        for old in previous:
            key = _Key(old)
            self._keys.setdefault(key.id, key)

    @classmethod
    def ephemeral(cls) -> Sealer:
        """A key that lives only in this process: for tests and throw-away tools. What it
        seals cannot be opened after a restart."""
        return cls(new_secret())

    @property
    def key_id(self) -> str:
        return self._current.id.hex()

    def seal(self, purpose: str, payload: Any) -> bytes:
        plain = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        padded = plain.ljust(len(plain) + (-len(plain) % BUCKET), b" ")
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._current.aead.encrypt(nonce, padded, purpose.encode())
        return VERSION + self._current.id + nonce + sealed

    def open(self, purpose: str, blob: bytes) -> Any:
        if not blob or blob[:1] != VERSION:
            raise SealBroken("not a sealed blob")
        key_id = blob[1 : 1 + KEY_ID_BYTES]
        key = self._keys.get(key_id)
        if key is None:
            raise SealBroken("sealed under a key this server does not hold")
        start = 1 + KEY_ID_BYTES
        nonce, sealed = blob[start : start + NONCE_BYTES], blob[start + NONCE_BYTES :]
        try:
            padded = key.aead.decrypt(nonce, sealed, purpose.encode())
        except InvalidTag:
            raise SealBroken("the blob does not open under its key and purpose") from None
        return json.loads(padded.rstrip(b" ").decode())

    def tag(self, *parts: object) -> str:
        """A keyed hash (HMAC-SHA256 under a key derived from the secret): stable for the
        same parts, meaningless without the secret (no dictionary of member ids works)."""
        # Lone surrogates (hostile input) hash too; valid text gives the same bytes as before.
        message = "\x1f".join(str(p) for p in parts).encode("utf-8", "surrogatepass")
        return hmac.new(self._current.tagging, message, hashlib.sha256).hexdigest()

    @property
    def held_key_ids(self) -> frozenset[str]:
        """The ids of every key this server can open with (current and previous)."""
        return frozenset(key.hex() for key in self._keys)

    def opens(self, blob: bytes) -> bool:
        """Whether this server holds the key a blob names (not whether it is intact)."""
        return blob[1 : 1 + KEY_ID_BYTES] in self._keys
