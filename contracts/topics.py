"""Kafka topic catalogue: one topic per aggregate kind, key = stream id (per-stream order)."""

from __future__ import annotations

__all__ = ["DEAD_LETTER_TOPIC", "TOPICS", "topic_for"]

TOPICS: dict[tuple[str, str], str] = {
    ("personnel", "unit"): "zugong.personnel.unit",
    ("personnel", "cadre"): "zugong.personnel.cadre",
    ("talent", "studio"): "zugong.talent.studio",
    ("talent", "expert"): "zugong.talent.expert",
    ("talent", "internship"): "zugong.talent.internship",
    ("talent", "university"): "zugong.talent.university",
    ("training", "training_class"): "zugong.training.class",
    ("training", "trainee"): "zugong.training.trainee",
    ("training", "mass_event"): "zugong.training.mass_event",
    ("training", "study_campaign"): "zugong.training.study_campaign",
    ("governance", "township"): "zugong.governance.township",
    ("governance", "village"): "zugong.governance.village",
    ("governance", "community"): "zugong.governance.community",
    ("governance", "compound"): "zugong.governance.compound",
    ("governance", "institutional_rule"): "zugong.governance.institutional_rule",
    ("governance", "sla_policy"): "zugong.governance.sla_policy",
    ("governance", "complaint"): "zugong.governance.complaint",
    ("governance", "property_alert"): "zugong.governance.property_alert",
    ("governance", "rectification_case"): "zugong.governance.rectification_case",
    ("governance", "reserve_candidate"): "zugong.governance.reserve_candidate",
    ("governance", "responsibility_list"): "zugong.governance.responsibility_list",
    ("governance", "village_access_list"): "zugong.governance.village_access_list",
}

DEAD_LETTER_TOPIC = "zugong.deadletter"


def topic_for(service: str, stream_kind: str) -> str:
    """The topic on which ``service`` publishes events of streams of ``stream_kind``."""
    return TOPICS[(service, stream_kind)]
