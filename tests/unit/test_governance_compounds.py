"""Compounds (service station, monitoring) and property alerts: every allowed and refused
transition, the SLA per level, the rules; explicit instants, no sleeping."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.governance import DEFAULT_SLA_POLICY
from services.governance.domain.alert import PropertyAlert
from services.governance.domain.common import TransitionRefused
from services.governance.domain.geography import Community, Compound, Township
from services.kernel.errors import DomainRuleViolation

TODAY = date(2024, 12, 1)
T0 = datetime(2024, 11, 1, 2, 0, tzinfo=UTC)
FAR = T0 + timedelta(days=100)


def compound(station=False, connected=False) -> Compound:
    township = Township("T1")
    township.register("云中镇", None, TODAY)
    community = Community("C1")
    community.register(township, "仁和社区")
    c = Compound("k1")
    c.register(community, "仁和小区", 640, date(2020, 1, 1), TODAY)
    if station:
        c.open_service_station("1号楼", date(2024, 3, 1), TODAY)
    if connected:
        c.connect_monitoring(12, date(2024, 4, 1), TODAY)
    return c


SWITCHES = {
    "open_service_station": lambda c: c.open_service_station(None, date(2024, 9, 1), TODAY),
    "close_service_station": lambda c: c.close_service_station("场地收回", date(2024, 9, 1), TODAY),
    "connect_monitoring": lambda c: c.connect_monitoring(3, date(2024, 9, 1), TODAY),
    "disconnect_monitoring": lambda c: c.disconnect_monitoring("换设备", date(2024, 9, 1), TODAY),
}
SWITCH_ALLOWED = {  # (station open?, connected?) → actions allowed
    (False, False): {"open_service_station", "connect_monitoring"},
    (True, False): {"close_service_station", "connect_monitoring"},
    (False, True): {"open_service_station", "disconnect_monitoring"},
    (True, True): {"close_service_station", "disconnect_monitoring"},
}


@pytest.mark.parametrize("station", [False, True])
@pytest.mark.parametrize("connected", [False, True])
@pytest.mark.parametrize("action", list(SWITCHES))
def test_every_switch_transition(station, connected, action):
    c = compound(station, connected)
    before = len(c.pending)
    if action in SWITCH_ALLOWED[(station, connected)]:
        SWITCHES[action](c)
        assert len(c.pending) == before + 1
        expected_station = {"open_service_station": True,
                            "close_service_station": False}.get(action, station)
        expected_connected = {"connect_monitoring": True,
                              "disconnect_monitoring": False}.get(action, connected)
        assert (c.station == "station_open", c.monitoring == "connected") == (
            expected_station, expected_connected)
    else:
        with pytest.raises(TransitionRefused):
            SWITCHES[action](c)
        assert len(c.pending) == before


def test_switch_dates_follow_hand_over_and_the_last_change():
    c = compound()
    with pytest.raises(DomainRuleViolation) as error:
        c.open_service_station(None, date(2019, 12, 31), TODAY)
    assert error.value.code == "date_order"
    c.open_service_station(None, date(2024, 3, 1), TODAY)
    with pytest.raises(DomainRuleViolation) as error:
        c.close_service_station("x", date(2024, 2, 28), TODAY)
    assert error.value.code == "date_order"
    c.close_service_station("x", date(2024, 3, 1), TODAY)  # same day is allowed


def alert_in(state: str) -> PropertyAlert:
    a = PropertyAlert("a1")
    a.raise_(compound(connected=True), "smoke", "critical", "3号楼", DEFAULT_SLA_POLICY, T0, FAR)
    if state == "raised":
        return a
    a.acknowledge(T0 + timedelta(minutes=1), FAR)
    if state == "false_alarm":
        a.mark_false_alarm("炊烟", T0 + timedelta(minutes=2), FAR)
    if state in ("dispatched", "resolved"):
        a.dispatch("property_company", "仁和物业", T0 + timedelta(minutes=2), FAR)
    if state == "resolved":
        a.resolve(None, T0 + timedelta(minutes=3), FAR)
    return a


ALERT_ACTIONS = {
    "acknowledge": lambda a: a.acknowledge(T0 + timedelta(minutes=9), FAR),
    "dispatch": lambda a: a.dispatch("grid_worker", "王网格员", T0 + timedelta(minutes=9), FAR),
    "resolve": lambda a: a.resolve("ok", T0 + timedelta(minutes=9), FAR),
    "mark_false_alarm": lambda a: a.mark_false_alarm("误报", T0 + timedelta(minutes=9), FAR),
}
ALERT_ALLOWED = {
    ("raised", "acknowledge"): "acknowledged",
    ("acknowledged", "dispatch"): "dispatched",
    ("acknowledged", "mark_false_alarm"): "false_alarm",
    ("dispatched", "resolve"): "resolved",
    ("dispatched", "mark_false_alarm"): "false_alarm",
}


@pytest.mark.parametrize("state", ["raised", "acknowledged", "dispatched", "resolved", "false_alarm"])
@pytest.mark.parametrize("action", list(ALERT_ACTIONS))
def test_every_alert_transition(state, action):
    a = alert_in(state)
    assert a.state == state
    before = len(a.pending)
    if (state, action) in ALERT_ALLOWED:
        ALERT_ACTIONS[action](a)
        assert a.state == ALERT_ALLOWED[(state, action)]
    else:
        with pytest.raises(TransitionRefused):
            ALERT_ACTIONS[action](a)
        assert len(a.pending) == before and a.state == state


@pytest.mark.parametrize(("level", "ack", "resolve"), [
    ("critical", timedelta(minutes=5), timedelta(hours=1)),
    ("major", timedelta(minutes=15), timedelta(hours=4)),
    ("minor", timedelta(hours=1), timedelta(hours=24)),
])
def test_alert_clocks_per_level(level, ack, resolve):
    a = PropertyAlert("a1")
    a.raise_(compound(connected=True), "elevator", level, None, DEFAULT_SLA_POLICY, T0, FAR)
    assert (a.acknowledge_due, a.resolve_due) == (T0 + ack, T0 + resolve)
    a.acknowledge(T0 + ack, FAR)
    a.dispatch("property_company", "x", T0 + ack, FAR)
    a.resolve(None, T0 + resolve + timedelta(seconds=1), FAR)
    assert a.pending[1].on_time is True and a.pending[-1].on_time is False


def test_alerts_come_only_from_connected_compounds_in_time_order():
    with pytest.raises(DomainRuleViolation) as error:
        PropertyAlert("a1").raise_(compound(), "smoke", "major", None, DEFAULT_SLA_POLICY, T0, FAR)
    assert error.value.code == "not_connected"
    a = alert_in("raised")
    with pytest.raises(DomainRuleViolation) as error:
        a.acknowledge(T0 - timedelta(seconds=1), FAR)
    assert error.value.code == "date_order"
    with pytest.raises(DomainRuleViolation) as error:
        a.acknowledge(FAR + timedelta(hours=1), FAR)
    assert error.value.code == "future"
