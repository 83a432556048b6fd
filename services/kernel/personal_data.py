"""Sealing personal data (national IDs, phone numbers) before it is recorded or published."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

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
        # Fernet's key is signing key (16 bytes) + encryption key (16 bytes); `open` uses them
        # directly (see there). ECB decrypts whole blocks independently, so one decryptor
        # serves every call as long as each call feeds whole blocks.
        self._signing_key, encryption_key = material[:16], material[16:]
        self._blocks = Cipher(algorithms.AES(encryption_key), modes.ECB()).decryptor()
        self._blocks_lock = threading.Lock()

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
        """The plain value, or None if the token was sealed under another key.

        The same checks and result as ``Fernet.decrypt`` (version byte, HMAC-SHA256 over
        everything before the tag, AES-128-CBC, PKCS7 padding; no TTL), at about a third of
        its cost: the gateway unseals every national ID of a roster page for a reader allowed
        to see them, and Fernet builds a new cipher context and HMAC object for each token.
        CBC is done as ECB per block XOR the previous ciphertext block (the IV first)."""
        try:
            data = base64.urlsafe_b64decode(ciphertext)
        except (binascii.Error, ValueError):
            return None
        body, tag = data[:-32], data[-32:]
        # version, timestamp (8), IV (16), at least one block, tag (32)
        if len(data) < 1 + 8 + 16 + 16 + 32 or data[0] != 0x80 or (len(body) - 25) % 16:
            return None
        if not hmac.compare_digest(hmac.digest(self._signing_key, body, "sha256"), tag):
            return None
        blocks = body[25:]
        size = len(blocks)
        with self._blocks_lock:
            decrypted = self._blocks.update(blocks)
        chained = int.from_bytes(body[9:9 + size], "big")  # the IV, then each ciphertext block
        padded = (int.from_bytes(decrypted, "big") ^ chained).to_bytes(size, "big")
        pad = padded[-1]
        if not 1 <= pad <= 16 or padded[-pad:] != bytes([pad]) * pad:
            return None
        try:
            return padded[:-pad].decode()
        except UnicodeDecodeError:
            return None
