"""Studio rules: certification, funding, annual review, revocation (accepted and rejected)."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.talent import StudioCertified, StudioFundingGranted, StudioLead, StudioReviewed, StudioRevoked
from services.kernel.errors import Conflict, DomainRuleViolation, NotFound
from services.talent.domain.common import child_id
from services.talent.domain.studio import Studio

TODAY = date(2024, 12, 31)


def certified(on: date = date(2024, 5, 20)) -> Studio:
    studio = Studio("s1")
    studio.certify(name="李红名师工作室", field="teacher", lead=StudioLead(name="李红"),
                   host_unit="一中", certified_on=on, document_number=None, today=TODAY)
    return studio


def assert_rejected(call, code: str, pointer: str | None = None) -> DomainRuleViolation:
    with pytest.raises(DomainRuleViolation) as caught:
        call()
    assert caught.value.code == code
    if pointer:
        assert caught.value.errors[0]["pointer"] == pointer
    return caught.value


def test_certify_records_the_certification():
    studio = certified()
    assert [type(e) for e in studio.pending] == [StudioCertified]
    assert studio.pending[0].effective_on == date(2024, 5, 20)
    assert studio.version == 1 and studio.exists


def test_certify_twice_is_a_conflict():
    studio = certified()
    with pytest.raises(Conflict):
        studio.certify(name="x", field="doctor", lead=StudioLead(name="y"), host_unit="z",
                       certified_on=date(2024, 6, 1), document_number=None, today=TODAY)


def test_certification_cannot_be_in_the_future():
    assert_rejected(lambda: Studio("s").certify(
        name="x", field="craftsman", lead=StudioLead(name="y"), host_unit="z",
        certified_on=date(2025, 1, 1), document_number=None, today=TODAY),
        "future_date", "#/certified_on")


def test_funding_accumulates_and_each_grant_has_a_derived_id():
    studio = certified()
    first = studio.grant_funding(amount_yuan=30_000, granted_on=date(2024, 6, 1), purpose=None,
                                 today=TODAY)
    second = studio.grant_funding(amount_yuan=20_000, granted_on=date(2024, 9, 1), purpose="第二笔",
                                  today=TODAY)
    assert studio.funding_total == 50_000
    assert first == child_id("studio-s1", 2) and second == child_id("studio-s1", 3)
    assert first != second
    assert [e.amount_yuan for e in studio.pending if isinstance(e, StudioFundingGranted)] == [
        30_000, 20_000]


@pytest.mark.parametrize("amount", [0, -50_000, 50_000.0, "50000", True])
def test_funding_must_be_a_positive_integer(amount):
    studio = certified()
    assert_rejected(lambda: studio.grant_funding(amount_yuan=amount, granted_on=date(2024, 6, 1),
                                          purpose=None, today=TODAY), "amount", "#/amount_yuan")
    assert studio.version == 1


def test_no_funding_for_an_uncertified_studio():
    with pytest.raises(NotFound):
        Studio("nobody").grant_funding(amount_yuan=50_000, granted_on=date(2024, 6, 1),
                                       purpose=None, today=TODAY)


def test_no_funding_for_a_revoked_studio():
    studio = certified()
    studio.revoke(reason="考核不合格", revoked_on=date(2024, 10, 1), today=TODAY)
    assert_rejected(lambda: studio.grant_funding(amount_yuan=50_000, granted_on=date(2024, 11, 1),
                                          purpose=None, today=TODAY), "studio_revoked")


def test_funding_cannot_precede_certification_nor_be_in_the_future():
    studio = certified()
    assert_rejected(lambda: studio.grant_funding(amount_yuan=1, granted_on=date(2024, 5, 19),
                                          purpose=None, today=TODAY), "date_order", "#/granted_on")
    assert_rejected(lambda: studio.grant_funding(amount_yuan=1, granted_on=date(2025, 1, 1),
                                          purpose=None, today=TODAY), "future_date", "#/granted_on")
    studio.grant_funding(amount_yuan=1, granted_on=date(2024, 5, 20), purpose=None, today=TODAY)


def test_annual_review_once_per_year_from_the_certification_year():
    studio = certified()
    studio.review(year=2024, grade="excellent", reviewed_on=date(2024, 12, 20), comment=None,
                  today=TODAY)
    assert studio.reviews == {2024: "excellent"}
    assert isinstance(studio.pending[-1], StudioReviewed)
    with pytest.raises(Conflict):
        studio.review(year=2024, grade="qualified", reviewed_on=date(2024, 12, 30), comment=None,
                      today=TODAY)
    assert_rejected(lambda: studio.review(year=2023, grade="qualified", reviewed_on=date(2024, 1, 5),
                                   comment=None, today=TODAY), "review_year", "#/year")


def test_review_happens_in_or_after_the_year_reviewed_and_not_in_the_future():
    studio = certified(date(2023, 3, 1))
    assert_rejected(lambda: studio.review(year=2024, grade="qualified", reviewed_on=date(2023, 12, 31),
                                   comment=None, today=TODAY), "date_order", "#/reviewed_on")
    assert_rejected(lambda: studio.review(year=2024, grade="qualified", reviewed_on=date(2025, 1, 10),
                                   comment=None, today=TODAY), "future_date", "#/reviewed_on")
    studio.review(year=2023, grade="qualified", reviewed_on=date(2024, 1, 10), comment="ok",
                  today=TODAY)


def test_revoked_studio_is_not_reviewed():
    studio = certified()
    studio.revoke(reason="撤销", revoked_on=date(2024, 10, 1), today=TODAY)
    assert_rejected(lambda: studio.review(year=2024, grade="qualified", reviewed_on=date(2024, 12, 1),
                                   comment=None, today=TODAY), "studio_revoked")


def test_revoke_once_not_before_certification():
    studio = certified()
    assert_rejected(lambda: studio.revoke(reason="x", revoked_on=date(2024, 5, 1), today=TODAY),
             "date_order", "#/revoked_on")
    assert_rejected(lambda: studio.revoke(reason="x", revoked_on=date(2025, 5, 1), today=TODAY),
             "future_date", "#/revoked_on")
    studio.revoke(reason="x", revoked_on=date(2024, 5, 20), today=TODAY)
    assert isinstance(studio.pending[-1], StudioRevoked) and studio.revoked
    with pytest.raises(Conflict):
        studio.revoke(reason="again", revoked_on=date(2024, 6, 1), today=TODAY)
    with pytest.raises(NotFound):
        Studio("nobody").revoke(reason="x", revoked_on=date(2024, 6, 1), today=TODAY)


def test_state_is_rebuilt_from_events():
    source = certified()
    source.grant_funding(amount_yuan=50_000, granted_on=date(2024, 6, 1), purpose=None, today=TODAY)
    source.review(year=2024, grade="qualified", reviewed_on=date(2024, 12, 1), comment=None,
                  today=TODAY)
    source.revoke(reason="x", revoked_on=date(2024, 12, 2), today=TODAY)
    replayed = Studio("s1")
    for event in source.pending:
        replayed.apply(event)
    assert (replayed.funding_total, replayed.reviews, replayed.revoked_on) == (
        50_000, {2024: "qualified"}, date(2024, 12, 2))
