"""The vault's own unsealing (`open`) against Fernet's: same values, same refusals."""

from __future__ import annotations

import base64
import hashlib
import random

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from services.kernel.personal_data import PersonalDataVault

VAULT = PersonalDataVault("unit-test-key")


def fernet_open(vault: PersonalDataVault, token: str) -> str | None:
    try:
        return vault._fernet.decrypt(token.encode()).decode()
    except Exception:
        return None


def test_open_returns_what_was_sealed_for_every_length():
    rng = random.Random(7)
    for length in range(0, 70):
        value = "".join(rng.choice("0123456789X中文") for _ in range(length))
        token = VAULT._fernet.encrypt(value.encode()).decode()
        assert VAULT.open(token) == value == fernet_open(VAULT, token)
    sealed = VAULT.seal("national_id", "110101199001011234")
    assert VAULT.open(sealed.ciphertext) == "110101199001011234"


def test_open_refuses_what_fernet_refuses():
    token = VAULT.seal("phone", "13912345678").ciphertext
    raw = bytearray(base64.urlsafe_b64decode(token))
    other_key = PersonalDataVault("another-key").seal("phone", "13912345678").ciphertext
    candidates = [other_key, "", "not base64 !!", "中文", token[:-4], token[:-8],
                  base64.urlsafe_b64encode(bytes(raw[:-1])).decode()]
    for position in range(len(raw)):  # every byte flipped in turn
        tampered = bytearray(raw)
        tampered[position] ^= 0x01
        candidates.append(base64.urlsafe_b64encode(bytes(tampered)).decode())
    for candidate in candidates:
        assert VAULT.open(candidate) is None
        assert fernet_open(VAULT, candidate) is None
    # base64 decoding stops at the padding, in both
    assert VAULT.open(token + "AAAA") == fernet_open(VAULT, token + "AAAA")


def test_open_refuses_bad_padding_even_with_a_valid_tag():
    # a token only the key holder could make (valid HMAC) whose plaintext is badly padded
    key = base64.urlsafe_b64encode(hashlib.sha256(b"unit-test-key").digest())
    raw = base64.urlsafe_b64decode(key)
    iv = bytes(16)
    encryptor = Cipher(algorithms.AES(raw[16:]), modes.CBC(iv)).encryptor()
    body = b"\x80" + bytes(8) + iv + encryptor.update(b"A" * 15 + b"\x05") + encryptor.finalize()
    signer = hmac.HMAC(raw[:16], hashes.SHA256())
    signer.update(body)
    token = base64.urlsafe_b64encode(body + signer.finalize()).decode()
    assert VAULT.open(token) is None
    assert fernet_open(VAULT, token) is None
    assert Fernet(key).decrypt(VAULT.seal("phone", "1").ciphertext) == b"1"
