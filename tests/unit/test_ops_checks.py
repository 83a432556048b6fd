"""The pure checks behind `zugong projections rebuild` and `zugong store verify`: what a replay
saw on the topics (gaps, duplicates) and the order of streams along a partition."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from contracts.envelope import EventEnvelope
from services.kernel.subscription import Delivery
from zugong.ops.rebuild import _Tracker
from zugong.ops.verify import _order_errors


def delivery(stream: str, version: int, offset: int, source: str = "kafka:t:0",
             event_type: str = "zugong.personnel.x.v1") -> Delivery:
    envelope = EventEnvelope(
        id=str(uuid.uuid4()), source="/zugong/personnel", type=event_type,
        time=datetime.now(UTC), subject=f"unit/{stream}", streamid=stream, streamversion=version,
        position=offset + 1, schemaversion=1, correlationid="c", causationid="c", actor="t",
        data={})
    return Delivery(source, offset, envelope)


def test_a_replay_tracks_heads_and_reports_gaps_but_not_duplicates():
    tracker = _Tracker()
    for d in [delivery("a", 1, 0), delivery("a", 2, 1), delivery("b", 1, 2),
              delivery("a", 1, 3), delivery("a", 2, 4),  # a relay re-send: harmless
              delivery("b", 3, 5)]:  # b's version 2 never arrived
        tracker.see(d)
    assert tracker.versions == {"a": 2, "b": 3}
    assert tracker.reached == {"kafka:t:0": 5}
    assert tracker.gaps == ["b: version 3 follows 1 on kafka:t:0"]
    tracker.see(Delivery("kafka:t:1", 0, None, raw=b"x"))
    assert tracker.reached["kafka:t:1"] == 0


class Handles:
    def __init__(self, name: str, *types: str) -> None:
        self.name, self.types = name, types

    def handles(self, event_type: str) -> bool:
        return event_type in self.types


def test_a_shared_replay_expects_of_each_projection_the_versions_of_the_events_it_handles():
    tracker = _Tracker()
    tracker.watch([Handles("all", "x", "y"), Handles("only-x", "x"), Handles("none")])
    for d in [delivery("a", 1, 0, event_type="x"), delivery("a", 2, 1, event_type="y"),
              delivery("b", 1, 2, event_type="y"), delivery("a", 1, 3, event_type="x")]:
        tracker.see(d)
    assert tracker.versions == {"a": 2, "b": 1}
    assert tracker.handled == {"all": {"a": 2, "b": 1}, "only-x": {"a": 1}, "none": {}}


def copy(topic: str, stream: str, version: int, partition: int, offset: int):
    return (topic, stream, version, partition, offset)


def test_streams_must_come_in_version_order_along_their_partition():
    in_order = {"e1": [copy("t", "a", 1, 0, 0), copy("t", "a", 1, 0, 5)],  # + a duplicate
                "e2": [copy("t", "a", 2, 0, 1)], "e3": [copy("t", "b", 1, 1, 0)]}
    assert _order_errors(in_order) == []
    swapped = {"e1": [copy("t", "a", 1, 0, 3)], "e2": [copy("t", "a", 2, 0, 1)]}
    assert _order_errors(swapped) == ["t[0]@1: a v2 after v0", "t[0]@3: a v1 after v2"]
    undecodable = {"<undecodable>": [("t", None, None, 0, 9)]}
    assert _order_errors(undecodable) == []
