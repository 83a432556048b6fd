"""Resident identity numbers (GB 11643-1999): checksum, birth date and gender."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

__all__ = ["NationalId", "check_digit"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


@dataclass(frozen=True)
class NationalId:
    value: str

    @classmethod
    def parse(cls, raw: str) -> NationalId:
        """Validate shape, birth date and checksum; raises ValueError with the reason."""
        value = raw.strip().upper()
        if not _SHAPE.match(value):
            raise ValueError("must be 17 digits followed by a digit or X")
        try:
            date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
        except ValueError:
            raise ValueError("the birth date in the number is not a real date") from None
        if check_digit(value[:17]) != value[17]:
            raise ValueError("the check digit is wrong (typo?)")
        return cls(value)

    @property
    def birth_date(self) -> date:
        return date(int(self.value[6:10]), int(self.value[10:12]), int(self.value[12:14]))

    @property
    def gender(self) -> str:
        return "male" if int(self.value[16]) % 2 else "female"
