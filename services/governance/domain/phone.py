"""Chinese phone numbers: mobile (11 digits from 13x–19x) or landline with its area code."""

from __future__ import annotations

import re

__all__ = ["normalise_phone"]

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}\d{7,8}$")


def normalise_phone(value: str) -> str:
    """Digits only, without +86; ValueError if it is neither a mobile nor a landline number."""
    digits = re.sub(r"[\s\-()]", "", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    if not (_MOBILE.match(digits) or _LANDLINE.match(digits)):
        raise ValueError("not a mobile (1xxxxxxxxxx) or landline (0area-number) phone number")
    return digits
