"""Sealing personal data (national IDs, phone numbers) before it is recorded or published."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken

from contracts.personal_data import SealedPersonalData

__all__ = ["PersonalDataVault", "mask_national_id", "mask_phone"]


def mask_national_id(value: str) -> str:
    return value[:4] + "*" * (len(value) - 8) + value[-4:] if len(value) > 8 else "*" * len(value)


def mask_phone(value: str) -> str:
    return value[:3] + "*" * (len(value) - 7) + value[-4:] if len(value) > 7 else "*" * len(value)


class PersonalDataVault:
    """Seals values with one platform key: HMAC digest for matching, Fernet for recovery."""

    def __init__(self, key: str) -> None:
        material = hashlib.sha256(key.encode()).digest()
        self._hmac_key = hashlib.sha256(b"zugong-digest" + material).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(material))

    def digest(self, value: str) -> str:
        return hmac.new(self._hmac_key, value.strip().upper().encode(), hashlib.sha256).hexdigest()

    def seal(self, kind: str, value: str) -> SealedPersonalData:
        value = value.strip().upper()
        masked = mask_national_id(value) if kind == "national_id" else mask_phone(value)
        return SealedPersonalData(
            kind=kind,
            masked=masked,
            digest=self.digest(value),
            ciphertext=self._fernet.encrypt(value.encode()).decode(),
        )

    def open(self, ciphertext: str) -> str | None:
        """The plain value, or None if the token was sealed under another key."""
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except (InvalidToken, ValueError):
            return None
