"""The complaint work order (接诉即办工单): its states, its SLA clocks and their pauses.

Clocks start at the first dispatch. A granted return pauses them from the return request to
the next dispatch (the deadlines move by that much); nothing else pauses them. A granted
extension moves the result deadline; a reopening starts a new one.
"""

from __future__ import annotations

from datetime import datetime

from contracts.governance import (
    ComplainantContacted,
    ComplaintClosed,
    ComplaintDispatched,
    ComplaintExtensionDecided,
    ComplaintExtensionRequested,
    ComplaintFollowedUp,
    ComplaintOverdueFlagged,
    ComplaintReceived,
    ComplaintReopened,
    ComplaintResultReported,
    ComplaintReturnDecided,
    ComplaintReturnRequested,
    ComplaintSignedFor,
    ComplaintSla,
    Duration,
    HandlingUnit,
    SlaPolicy,
)
from contracts.personal_data import SealedPersonalData
from contracts.registry import DomainEvent
from services.governance.domain.common import StatefulAggregate, check_instant
from services.governance.domain.sla import add_duration, complaint_sla
from services.kernel.errors import Conflict, DomainRuleViolation

__all__ = ["OPEN_CLOCK_STATES", "Complaint"]

OPEN_CLOCK_STATES = frozenset({"dispatched", "signed", "return_requested"})
"""States in which the clocks run (a granted return pauses them in `received`)."""


class Complaint(StatefulAggregate):
    stream_type = "complaint"
    what = "complaint"
    TRANSITIONS = {
        "dispatch": frozenset({"received"}),
        "sign_for": frozenset({"dispatched"}),
        "request_return": frozenset({"dispatched", "signed"}),
        "decide_return": frozenset({"return_requested"}),
        "request_extension": frozenset({"signed"}),
        "decide_extension": frozenset({"signed"}),
        "record_first_contact": frozenset({"signed"}),
        "report_result": frozenset({"signed"}),
        "record_follow_up": frozenset({"result_reported"}),
        "reopen": frozenset({"followed_up", "closed"}),
        "close": frozenset({"received", "result_reported", "followed_up"}),
        "flag_overdue": OPEN_CLOCK_STATES,
    }

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.category = self.urgency = ""
        self.last_at: datetime | None = None
        self.unit: HandlingUnit | None = None
        self.dispatches = 0
        self.sla: ComplaintSla | None = None
        self.sign_for_due = self.response_due = self.resolve_due = None
        self.paused_since: datetime | None = None
        self.before_return = ""
        self.return_requested_at: datetime | None = None
        self.contacted = False
        self.pending_extension: Duration | None = None
        self.resolved: bool | None = None
        self.satisfaction: str | None = None
        self.outcome: str | None = None
        self.reopen_count = 0
        self.flagged: set[tuple[str, datetime]] = set()

    # --- folding events ----------------------------------------------------------------------

    def apply(self, event: DomainEvent) -> None:
        if not isinstance(event, ComplaintOverdueFlagged):  # supervision is not a step
            self.last_at = event.at
        match event:
            case ComplaintReceived():
                self.state, self.township_id = "received", event.township_id
                self.category, self.urgency = event.category, event.urgency
            case ComplaintDispatched():
                self.state, self.unit, self.sla = "dispatched", event.handling_unit, event.sla
                self.dispatches = event.dispatch_number
                self.sign_for_due, self.response_due = event.sign_for_due, event.response_due
                self.resolve_due, self.paused_since = event.resolve_due, None
            case ComplaintSignedFor():
                self.state = "signed"
            case ComplaintReturnRequested():
                self.before_return, self.state = self.state, "return_requested"
                self.return_requested_at = event.at
            case ComplaintReturnDecided():
                if event.granted:
                    self.state, self.paused_since = "received", self.return_requested_at
                else:
                    self.state = self.before_return
            case ComplaintExtensionRequested():
                self.pending_extension = event.requested
            case ComplaintExtensionDecided():
                self.pending_extension, self.resolve_due = None, event.resolve_due
            case ComplainantContacted():
                self.contacted = True
            case ComplaintResultReported():
                self.state = "result_reported"
            case ComplaintFollowedUp():
                self.state = "followed_up"
                self.resolved, self.satisfaction = event.resolved, event.satisfaction
            case ComplaintReopened():
                self.state, self.reopen_count = "signed", event.reopen_count
                self.resolve_due, self.resolved, self.satisfaction = event.resolve_due, None, None
                self.flagged = {f for f in self.flagged if f[0] != "resolve"}
            case ComplaintClosed():
                self.state, self.outcome = "closed", event.outcome
            case ComplaintOverdueFlagged():
                self.flagged.add((event.deadline, event.due_at))

    def _at(self, at: datetime, now: datetime) -> datetime:
        return check_instant(at, now, after=self.last_at, after_what="the order's previous step")

    def _common(self, at: datetime) -> dict:
        return {"complaint_id": self.id, "township_id": self.township_id, "at": at}

    # --- commands ----------------------------------------------------------------------------

    def receive(self, *, township_id: str, community_id: str, channel: str, category: str,
                urgency: str, description: str, contact_phone: SealedPersonalData, at: datetime,
                now: datetime) -> None:
        if self.exists:
            raise Conflict(f"complaint {self.id} already exists")
        self.township_id = township_id
        self._record(ComplaintReceived(
            **self._common(check_instant(at, now)), channel=channel, category=category,
            urgency=urgency, community_id=community_id, description=description,
            contact_phone=contact_phone))

    def dispatch(self, unit: HandlingUnit, policy: SlaPolicy, at: datetime,
                 now: datetime) -> None:
        self._allow("dispatch")
        at = self._at(at, now)
        if unit.kind == "township" and unit.id != self.township_id:
            raise DomainRuleViolation(
                f"the complaint belongs to township {self.township_id}; a township handles only "
                f"its own territory (属地)", pointer="#/handling_unit/id", code="not_territorial")
        if self.sla is None:
            sla = complaint_sla(policy, self.category, self.urgency)
            response_due = add_duration(at, sla.response, policy.calendar)
            resolve_due = add_duration(at, sla.resolve, policy.calendar)
            paused = 0
        else:
            sla = self.sla
            shift = at - (self.paused_since or at)
            response_due = self.response_due if self.contacted else self.response_due + shift
            resolve_due = self.resolve_due + shift
            paused = int(shift.total_seconds())
        self._record(ComplaintDispatched(
            **self._common(at), handling_unit=unit, dispatch_number=self.dispatches + 1, sla=sla,
            sign_for_due=add_duration(at, sla.sign_for, policy.calendar), response_due=response_due,
            resolve_due=resolve_due, paused_seconds=paused))

    def sign_for(self, at: datetime, now: datetime) -> None:
        self._allow("sign_for")
        at = self._at(at, now)
        self._record(ComplaintSignedFor(**self._common(at), on_time=at <= self.sign_for_due))

    def request_return(self, reason: str, at: datetime, now: datetime) -> None:
        self._allow("request_return")
        self._record(ComplaintReturnRequested(**self._common(self._at(at, now)), reason=reason))

    def decide_return(self, granted: bool, note: str | None, at: datetime, now: datetime) -> None:
        self._allow("decide_return")
        self._record(ComplaintReturnDecided(**self._common(self._at(at, now)), granted=granted,
                                            note=note))

    def request_extension(self, requested: Duration, reason: str, at: datetime,
                          now: datetime) -> None:
        self._allow("request_extension")
        at = self._at(at, now)
        if self.pending_extension is not None:
            raise DomainRuleViolation("an extension request is already waiting for a decision",
                                      pointer="#", code="extension_pending")
        if at >= self.resolve_due:
            raise DomainRuleViolation(
                f"an extension must be asked for before the deadline ({self.resolve_due.isoformat()})",
                pointer="#/at", code="deadline_passed")
        self._record(ComplaintExtensionRequested(**self._common(at), requested=requested,
                                                 reason=reason))

    def decide_extension(self, granted: bool, duration: Duration | None,
                         policy: SlaPolicy, at: datetime, now: datetime) -> None:
        self._allow("decide_extension")
        at = self._at(at, now)
        if self.pending_extension is None:
            raise DomainRuleViolation("no extension request is waiting for a decision",
                                      pointer="#", code="no_pending_extension")
        due = self.resolve_due
        granted_duration = None
        if granted:
            granted_duration = duration or self.pending_extension
            due = add_duration(due, granted_duration, policy.calendar)
        self._record(ComplaintExtensionDecided(
            **self._common(at), granted=granted, granted_duration=granted_duration,
            resolve_due=due))

    def record_first_contact(self, at: datetime, now: datetime) -> None:
        self._allow("record_first_contact")
        at = self._at(at, now)
        if self.contacted:
            raise DomainRuleViolation("the first contact is already recorded", pointer="#",
                                      code="already_contacted")
        self._record(ComplainantContacted(**self._common(at), on_time=at <= self.response_due))

    def report_result(self, result: str, at: datetime, now: datetime) -> None:
        self._allow("report_result")
        at = self._at(at, now)
        if not self.contacted:
            raise DomainRuleViolation("contact the citizen before reporting a result",
                                      pointer="#", code="no_contact")
        self._record(ComplaintResultReported(**self._common(at), result=result,
                                             on_time=at <= self.resolve_due))

    def record_follow_up(self, resolved: bool, satisfaction: str, note: str | None,
                         at: datetime, now: datetime) -> None:
        self._allow("record_follow_up")
        self._record(ComplaintFollowedUp(**self._common(self._at(at, now)), resolved=resolved,
                                         satisfaction=satisfaction, note=note))

    def reopen(self, reason: str, policy: SlaPolicy, at: datetime, now: datetime) -> None:
        self._allow("reopen")
        at = self._at(at, now)
        if self.state == "closed" and self.outcome != "completed":
            raise DomainRuleViolation(f"a complaint closed as {self.outcome} is not reopened",
                                      pointer="#", code="not_completed")
        if self.state == "followed_up" and self.resolved and self.satisfaction != "dissatisfied":
            raise DomainRuleViolation("the citizen rated it resolved and satisfied",
                                      pointer="#", code="citizen_satisfied")
        self._record(ComplaintReopened(
            **self._common(at), reason=reason, reopen_count=self.reopen_count + 1,
            resolve_due=add_duration(at, self.sla.resolve, policy.calendar)))

    def close(self, outcome: str | None, note: str | None, at: datetime, now: datetime) -> None:
        self._allow("close")
        at = self._at(at, now)
        allowed = ({"not_accepted", "duplicate"} if self.state == "received" else {"completed"})
        outcome = outcome or ("completed" if self.state != "received" else None)
        if outcome not in allowed:
            raise DomainRuleViolation(
                f"a {self.state} complaint closes as {' or '.join(sorted(allowed))}",
                pointer="#/outcome", code="outcome")
        if self.state == "received" and self.dispatches:
            raise DomainRuleViolation("a returned order is re-dispatched, not closed unaccepted",
                                      pointer="#/outcome", code="outcome")
        self._record(ComplaintClosed(**self._common(at), outcome=outcome, note=note))

    # --- clocks ------------------------------------------------------------------------------

    def overdue(self, now: datetime) -> list[tuple[str, datetime]]:
        """The deadlines that have passed at ``now`` without their step (none while paused)."""
        if self.state not in OPEN_CLOCK_STATES:
            return []
        out = []
        if self.state == "dispatched" and now > self.sign_for_due:
            out.append(("sign_for", self.sign_for_due))
        if not self.contacted and now > self.response_due:
            out.append(("response", self.response_due))
        if now > self.resolve_due:
            out.append(("resolve", self.resolve_due))
        return out

    def flag_overdue(self, now: datetime) -> None:
        self._allow("flag_overdue")
        due = [d for d in self.overdue(now) if d not in self.flagged]
        if not due:
            raise DomainRuleViolation(
                "no deadline of this order has passed unflagged", pointer="#", code="not_overdue")
        for deadline, due_at in due:
            self._record(ComplaintOverdueFlagged(**self._common(now), deadline=deadline,
                                                 due_at=due_at))


