"""Internship and university rules (accepted and rejected)."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.talent import (
    CooperationAgreementSigned,
    CooperationAgreementTerminated,
    InternPlaced,
    InternPlacementWithdrawn,
    InternshipPositionCompleted,
    RecruitmentPromotionHeld,
)
from services.kernel.errors import Conflict, DomainRuleViolation, NotFound
from services.talent.domain.internship import InternshipPosition
from services.talent.domain.university import University

TODAY = date(2024, 12, 31)


def assert_rejected(call, code: str, pointer: str | None = None) -> None:
    with pytest.raises(DomainRuleViolation) as caught:
        call()
    assert caught.value.code == code
    if pointer:
        assert caught.value.errors[0]["pointer"] == pointer


def published(slots: int = 2) -> InternshipPosition:
    position = InternshipPosition("p1")
    position.publish(
        host_unit="人民医院",
        post="医务助理",
        slots=slots,
        season="summer",
        starts_on=date(2024, 7, 8),
        ends_on=date(2024, 8, 23),
        published_on=date(2024, 6, 15),
        today=TODAY,
    )
    return position


def place(position: InternshipPosition, name: str, on: date = date(2024, 7, 1)) -> str:
    return position.place(student_name=name, school="太原理工大学", major=None, placed_on=on, today=TODAY)


def test_publish_rules():
    position = published()
    assert position.slots == 2 and position.exists
    with pytest.raises(Conflict):
        position.publish(
            host_unit="x",
            post="y",
            slots=1,
            season="winter",
            starts_on=date(2024, 1, 8),
            ends_on=date(2024, 2, 8),
            published_on=date(2024, 1, 1),
            today=TODAY,
        )
    fresh = InternshipPosition("p2")
    base = dict(
        host_unit="x",
        post="y",
        slots=3,
        season="winter",
        starts_on=date(2024, 1, 15),
        ends_on=date(2024, 2, 20),
        published_on=date(2024, 1, 2),
        today=TODAY,
    )
    assert_rejected(lambda: fresh.publish(**{**base, "slots": 0}), "slots", "#/slots")
    assert_rejected(
        lambda: fresh.publish(**{**base, "ends_on": date(2024, 1, 15)}), "date_order", "#/ends_on"
    )
    assert_rejected(
        lambda: fresh.publish(**{**base, "published_on": date(2024, 2, 21)}), "date_order", "#/published_on"
    )
    assert_rejected(
        lambda: fresh.publish(
            **{
                **base,
                "starts_on": date(2025, 1, 15),
                "ends_on": date(2025, 2, 20),
                "published_on": date(2025, 1, 2),
            }
        ),
        "future_date",
        "#/published_on",
    )
    fresh.publish(**base)


def test_placements_cannot_exceed_slots_and_withdrawal_frees_one():
    position = published(slots=2)
    first = place(position, "赵敏")
    place(position, "钱进")
    assert position.placed == 2
    assert_rejected(lambda: place(position, "孙丽"), "no_slot")
    assert position.version == 3
    position.withdraw(first, withdrawn_on=date(2024, 7, 15), reason="返校", today=TODAY)
    assert isinstance(position.pending[-1], InternPlacementWithdrawn)
    assert position.placed == 1
    place(position, "孙丽", date(2024, 7, 16))
    assert position.placed == 2
    assert [type(e) for e in position.pending].count(InternPlaced) == 3


def test_the_same_student_is_not_placed_twice_but_may_return_after_withdrawal():
    position = published(slots=5)
    placement = place(position, "赵敏")
    with pytest.raises(Conflict):
        place(position, "赵敏")
    position.withdraw(placement, withdrawn_on=date(2024, 7, 2), reason=None, today=TODAY)
    place(position, "赵敏", date(2024, 7, 3))


def test_placement_dates():
    position = published()
    assert_rejected(lambda: place(position, "赵敏", date(2024, 6, 14)), "date_order", "#/placed_on")
    assert_rejected(lambda: place(position, "赵敏", date(2024, 8, 24)), "date_order", "#/placed_on")
    assert_rejected(
        lambda: position.place(
            student_name="赵敏", school="x", major=None, placed_on=date(2024, 7, 1), today=date(2024, 6, 30)
        ),
        "future_date",
        "#/placed_on",
    )
    with pytest.raises(NotFound):
        place(InternshipPosition("nothing"), "赵敏")


def test_withdrawal_rules():
    position = published()
    placement = place(position, "赵敏", date(2024, 7, 10))
    assert_rejected(
        lambda: position.withdraw(placement, withdrawn_on=date(2024, 7, 9), reason=None, today=TODAY),
        "date_order",
        "#/withdrawn_on",
    )
    with pytest.raises(NotFound):
        position.withdraw("unknown", withdrawn_on=date(2024, 7, 11), reason=None, today=TODAY)
    position.withdraw(placement, withdrawn_on=date(2024, 7, 11), reason=None, today=TODAY)
    with pytest.raises(Conflict):
        position.withdraw(placement, withdrawn_on=date(2024, 7, 12), reason=None, today=TODAY)


def test_completion_closes_the_position():
    position = published(slots=3)
    place(position, "赵敏")
    withdrawn = place(position, "钱进")
    position.withdraw(withdrawn, withdrawn_on=date(2024, 7, 20), reason=None, today=TODAY)
    assert_rejected(
        lambda: position.complete(completed_on=date(2024, 7, 7), today=TODAY), "date_order", "#/completed_on"
    )
    position.complete(completed_on=date(2024, 8, 23), today=TODAY)
    event = position.pending[-1]
    assert isinstance(event, InternshipPositionCompleted) and event.completed_placements == 1
    with pytest.raises(Conflict):
        position.complete(completed_on=date(2024, 8, 24), today=TODAY)
    assert_rejected(lambda: place(position, "孙丽"), "position_completed")
    with pytest.raises(NotFound):
        InternshipPosition("nothing").complete(completed_on=date(2024, 8, 23), today=TODAY)


def test_completion_not_before_the_last_placement():
    position = published()
    place(position, "赵敏", date(2024, 8, 1))
    assert_rejected(
        lambda: position.complete(completed_on=date(2024, 7, 31), today=TODAY), "date_order", "#/completed_on"
    )


def registered_university() -> University:
    university = University("u1")
    university.register(name="山西大学", city="太原")
    return university


def sign(university: University, signed: date, ends: date) -> str:
    return university.sign_agreement(
        title="校地合作协议", scope=["internship_base"], signed_on=signed, term_ends_on=ends, today=TODAY
    )


def test_university_registration_and_promotion_events():
    university = registered_university()
    with pytest.raises(Conflict):
        university.register(name="山西大学", city=None)
    university.hold_promotion(
        title="宣讲会", held_on=date(2024, 4, 18), attendees=320, positions_offered=150, today=TODAY
    )
    assert isinstance(university.pending[-1], RecruitmentPromotionHeld)
    assert_rejected(
        lambda: university.hold_promotion(
            title="宣讲会", held_on=date(2025, 4, 18), attendees=1, positions_offered=0, today=TODAY
        ),
        "future_date",
        "#/held_on",
    )
    assert_rejected(
        lambda: university.hold_promotion(
            title="宣讲会", held_on=date(2024, 4, 18), attendees=-1, positions_offered=0, today=TODAY
        ),
        "count",
    )
    with pytest.raises(NotFound):
        University("nothing").hold_promotion(
            title="x", held_on=date(2024, 4, 18), attendees=1, positions_offered=0, today=TODAY
        )


def test_agreement_rules():
    university = registered_university()
    assert_rejected(
        lambda: sign(university, date(2024, 9, 10), date(2024, 9, 10)), "date_order", "#/term_ends_on"
    )
    assert_rejected(
        lambda: university.sign_agreement(
            title="x",
            scope=["research", "research"],
            signed_on=date(2024, 9, 10),
            term_ends_on=date(2027, 9, 9),
            today=TODAY,
        ),
        "duplicate_scope",
        "#/scope",
    )
    assert_rejected(
        lambda: sign(university, date(2025, 9, 10), date(2027, 9, 9)), "future_date", "#/signed_on"
    )
    first = sign(university, date(2024, 9, 10), date(2027, 9, 9))
    assert isinstance(university.pending[-1], CooperationAgreementSigned)
    assert_rejected(
        lambda: sign(university, date(2024, 12, 1), date(2025, 12, 1)), "overlapping_agreement", "#/signed_on"
    )
    university.terminate_agreement(first, reason="协商终止", terminated_on=date(2024, 11, 30), today=TODAY)
    assert isinstance(university.pending[-1], CooperationAgreementTerminated)
    sign(university, date(2024, 12, 1), date(2025, 12, 1))


def test_termination_rules():
    university = registered_university()
    agreement = sign(university, date(2024, 9, 10), date(2024, 12, 9))
    assert_rejected(
        lambda: university.terminate_agreement(
            agreement, reason="x", terminated_on=date(2024, 9, 9), today=TODAY
        ),
        "date_order",
        "#/terminated_on",
    )
    assert_rejected(
        lambda: university.terminate_agreement(
            agreement, reason="x", terminated_on=date(2024, 12, 10), today=TODAY
        ),
        "date_order",
        "#/terminated_on",
    )
    with pytest.raises(NotFound):
        university.terminate_agreement("other", reason="x", terminated_on=date(2024, 10, 1), today=TODAY)
    university.terminate_agreement(agreement, reason="x", terminated_on=date(2024, 10, 1), today=TODAY)
    with pytest.raises(Conflict):
        university.terminate_agreement(agreement, reason="x", terminated_on=date(2024, 10, 2), today=TODAY)
