"""What the organisation running this server tells the people who use it (its settings
`PASSERELLE_PRIVACY_URL` and `PASSERELLE_PRIVACY_CONTACT`): where its privacy policy is, and
whom to write to about one's personal information (under Québec's Law 25, the person in charge
of the protection of personal information)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Operator:
    privacy_url: str = ""
    privacy_contact: str = ""
