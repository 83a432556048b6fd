"""The county's territorial responsibility list (drafted item by item, published in numbered
versions) and its village access lists (entries admitted and removed with a basis)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from contracts.governance import (
    AccessEntryAdmitted,
    AccessEntryRemoved,
    ResponsibilityItem,
    ResponsibilityItemAdded,
    ResponsibilityItemAmended,
    ResponsibilityItemRepealed,
    ResponsibilityListPublished,
)
from contracts.registry import DomainEvent
from services.governance.domain.common import check_effective_on
from services.kernel.aggregate import Aggregate
from services.kernel.errors import Conflict, DomainRuleViolation

__all__ = ["LIST_ID", "AccessLists", "ResponsibilityList", "name_key"]

LIST_ID = "county"
TASK_KINDS = frozenset({"statutory_duty", "assistance"})


def name_key(name: str) -> str:
    """Names match ignoring case, the blanks at the edges and how many blanks run inside."""
    return re.sub(r"\s+", " ", name).strip().casefold()


class ResponsibilityList(Aggregate):
    stream_type = "responsibility_list"
    township_id = None

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.items: dict[str, ResponsibilityItem] = {}
        self.repealed: set[str] = set()
        self.changes: dict[str, str] = {}  # code → added | amended | repealed, since publication
        self.published: list[tuple[int, date]] = []

    def apply(self, event: DomainEvent) -> None:
        match event:
            case ResponsibilityItemAdded():
                self.items[event.item.code] = event.item
                self.changes[event.item.code] = "added"
            case ResponsibilityItemAmended():
                self.items[event.item.code] = event.item
                self.changes.setdefault(event.item.code, "amended")
            case ResponsibilityItemRepealed():
                del self.items[event.code]
                self.repealed.add(event.code)
                if self.changes.get(event.code) == "added":
                    del self.changes[event.code]  # drafted and dropped before any publication
                else:
                    self.changes[event.code] = "repealed"
            case ResponsibilityListPublished():
                self.changes.clear()
                self.published.append((event.version_number, event.effective_on))

    def _existing(self, code: str) -> ResponsibilityItem:
        if code in self.repealed:
            raise DomainRuleViolation(f"item {code} was repealed", pointer="#", code="item_repealed")
        if code not in self.items:
            raise DomainRuleViolation(f"no item {code} in the list", pointer="#",
                                      code="unknown_item")
        return self.items[code]

    def add_item(self, item: ResponsibilityItem) -> None:
        if item.code in self.items or item.code in self.repealed:
            raise Conflict(f"item code {item.code} is already used")
        self._record(ResponsibilityItemAdded(list_id=self.id, item=item))

    def amend_item(self, item: ResponsibilityItem, reason: str) -> None:
        if self._existing(item.code) == item:
            raise DomainRuleViolation("the amendment changes nothing", pointer="#",
                                      code="no_change")
        self._record(ResponsibilityItemAmended(list_id=self.id, item=item, reason=reason))

    def repeal_item(self, code: str, reason: str) -> None:
        self._existing(code)
        self._record(ResponsibilityItemRepealed(list_id=self.id, code=code, reason=reason))

    def publish(self, document_number: str, effective_on: date, today: date) -> int:
        if not self.changes:
            raise DomainRuleViolation("nothing changed since the last published version",
                                      pointer="#", code="nothing_to_publish")
        if not self.items:
            raise DomainRuleViolation("a published list has at least one item", pointer="#",
                                      code="empty_list")
        previous = self.published[-1][1] if self.published else None
        if previous is not None and effective_on <= previous:
            raise DomainRuleViolation(
                f"a version takes effect after the previous one ({previous})",
                pointer="#/effective_on", code="date_order")
        check_effective_on(effective_on, today)
        number = len(self.published) + 1
        changed = {kind: sorted(c for c, k in self.changes.items() if k == kind)
                   for kind in ("added", "amended", "repealed")}
        self._record(ResponsibilityListPublished(
            list_id=self.id, version_number=number, document_number=document_number,
            items=[self.items[c] for c in sorted(self.items)], effective_on=effective_on,
            **changed))
        return number


@dataclass
class _Entry:
    kind: str
    name: str
    admitted_on: date
    removed_on: date | None = None


class AccessLists(Aggregate):
    stream_type = "village_access_list"
    township_id = None

    def __init__(self, aggregate_id: str) -> None:
        super().__init__(aggregate_id)
        self.entries: dict[str, _Entry] = {}

    def apply(self, event: DomainEvent) -> None:
        match event:
            case AccessEntryAdmitted():
                self.entries[event.entry_id] = _Entry(event.kind, event.name, event.effective_on)
            case AccessEntryRemoved():
                self.entries[event.entry_id].removed_on = event.effective_on

    def _active(self, kinds: set[str] | frozenset[str], name: str) -> _Entry | None:
        key = name_key(name)
        return next((e for e in self.entries.values() if e.kind in kinds and e.removed_on is None
                     and name_key(e.name) == key), None)

    def admit(self, entry_id: str, kind: str, name: str, basis: str,
              requesting_organ: str | None, effective_on: date, today: date) -> None:
        if self._active({kind}, name):
            raise DomainRuleViolation(f"{name} is already on the {kind} list", pointer="#/name",
                                      code="already_listed")
        opposite = {"negative"} if kind in TASK_KINDS else TASK_KINDS if kind == "negative" else set()
        clash = self._active(opposite, name)
        if clash:
            raise DomainRuleViolation(
                f"{name} is on the {clash.kind} list; remove it there first", pointer="#/kind",
                code="conflicts_with_negative_list")
        self._record(AccessEntryAdmitted(
            list_id=self.id, entry_id=entry_id, kind=kind, name=name, basis=basis,
            requesting_organ=requesting_organ,
            effective_on=check_effective_on(effective_on, today)))

    def remove(self, entry_id: str, basis: str, effective_on: date, today: date) -> None:
        entry = self.entries.get(entry_id)
        if entry is None:
            raise DomainRuleViolation(f"no entry {entry_id}", pointer="#", code="unknown_entry")
        if entry.removed_on is not None:
            raise DomainRuleViolation(f"entry {entry.name} was removed on {entry.removed_on}",
                                      pointer="#", code="already_removed")
        self._record(AccessEntryRemoved(
            list_id=self.id, entry_id=entry_id, kind=entry.kind, name=entry.name, basis=basis,
            effective_on=check_effective_on(effective_on, today, after=entry.admitted_on,
                                            after_what="its admission")))
