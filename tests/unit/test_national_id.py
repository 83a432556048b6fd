from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.personnel.domain.national_id import NationalId, check_digit
from tests.support.national_ids import national_id


def test_known_valid_number():
    # The GB 11643 example number.
    parsed = NationalId.parse("11010519491231002X")
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.gender == "female"


@pytest.mark.parametrize("raw, reason", [
    ("11010519491231002Y", "17 digits"),
    ("110105194912310021", "check digit"),
    ("110105194902300028", "not a real date"),
    ("1101051949123100", "17 digits"),
])
def test_invalid_numbers_are_rejected_with_a_reason(raw, reason):
    with pytest.raises(ValueError, match=reason):
        NationalId.parse(raw)


@given(st.dates(min_value=date(1940, 1, 1), max_value=date(2010, 12, 31)),
       st.sampled_from(["male", "female"]), st.integers(0, 499))
def test_generated_numbers_round_trip(birth, gender, sequence):
    parsed = NationalId.parse(national_id(birth, gender, sequence))
    assert parsed.birth_date == birth
    assert parsed.gender == gender


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_any_single_digit_change_breaks_the_checksum(body):
    valid = body + check_digit(body)
    NationalId.parse(valid) if _real_date(valid) else None
    changed = body[:-1] + str((int(body[-1]) + 1) % 10) + valid[-1]
    if _real_date(changed):
        with pytest.raises(ValueError):
            NationalId.parse(changed)


def _real_date(value: str) -> bool:
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
        return True
    except ValueError:
        return False
