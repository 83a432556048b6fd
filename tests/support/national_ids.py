"""Valid synthetic national ID numbers for tests."""

from __future__ import annotations

from datetime import date

from services.personnel.domain.national_id import check_digit


def national_id(birth: date, gender: str, sequence: int = 1, region: str = "140624") -> str:
    """An 18-character ID with a correct check digit (region 140624 = Huairen)."""
    seq = (sequence * 2) % 1000  # even
    if gender == "male":
        seq += 1
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + check_digit(body)
