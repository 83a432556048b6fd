"""Talent read models (studios, experts, visits, follow-ups, secondments, internships,
universities) and the projection that maintains them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from contracts import registry
from contracts.envelope import EventEnvelope
from contracts.talent import (
    CooperationAgreementSigned,
    CooperationAgreementTerminated,
    ExpertRegistered,
    ExpertVisited,
    FollowUpClosed,
    InternPlaced,
    InternPlacementWithdrawn,
    InternshipPositionCompleted,
    InternshipPositionPublished,
    RecruitmentPromotionHeld,
    SecondmentArranged,
    SecondmentEnded,
    StudioCertified,
    StudioFundingGranted,
    StudioReviewed,
    StudioRevoked,
    UniversityRegistered,
)

__all__ = [
    "TalentProjection",
    "agreements",
    "experts",
    "follow_ups",
    "grants",
    "metadata",
    "placements",
    "positions",
    "promotions",
    "reviews",
    "secondments",
    "studios",
    "universities",
    "visits",
]

metadata = sa.MetaData()
_ID = 64

studios = sa.Table(
    "rm_talent_studios", metadata,
    sa.Column("studio_id", sa.String(_ID), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("field", sa.String(20), nullable=False, index=True),
    sa.Column("lead_name", sa.String(100), nullable=False),
    sa.Column("lead_title", sa.String(100), nullable=True),
    sa.Column("host_unit", sa.String(200), nullable=False),
    sa.Column("document_number", sa.String(100), nullable=True),
    sa.Column("certified_on", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("revoked_on", sa.Date, nullable=True),
    sa.Column("revocation_reason", sa.Text, nullable=True),
    sa.Column("funding_total", sa.BigInteger, nullable=False),
    sa.Column("grants", sa.Integer, nullable=False),
    sa.Column("last_review_year", sa.Integer, nullable=True),
    sa.Column("last_review_grade", sa.String(20), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_rm_talent_studios_name_id", "name", "studio_id"),
)

grants = sa.Table(
    "rm_talent_studio_grants", metadata,
    sa.Column("grant_id", sa.String(_ID), primary_key=True),
    sa.Column("studio_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("field", sa.String(20), nullable=False),
    sa.Column("amount_yuan", sa.BigInteger, nullable=False),
    sa.Column("purpose", sa.Text, nullable=True),
    sa.Column("granted_on", sa.Date, nullable=False, index=True),
)

reviews = sa.Table(
    "rm_talent_studio_reviews", metadata,
    sa.Column("studio_id", sa.String(_ID), primary_key=True),
    sa.Column("year", sa.Integer, primary_key=True),
    sa.Column("grade", sa.String(20), nullable=False),
    sa.Column("comment", sa.Text, nullable=True),
    sa.Column("reviewed_on", sa.Date, nullable=False),
)

experts = sa.Table(
    "rm_talent_experts", metadata,
    sa.Column("expert_id", sa.String(_ID), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False, index=True),
    sa.Column("field", sa.String(200), nullable=True),
    sa.Column("affiliation", sa.String(200), nullable=True),
    sa.Column("hometown", sa.String(100), nullable=True),
    sa.Column("phone_masked", sa.String(32), nullable=True),
    sa.Column("phone_sealed", sa.Text, nullable=True),
    sa.Column("registered_on", sa.Date, nullable=False),
    sa.Column("term_ends_on", sa.Date, nullable=True),
    sa.Column("visits", sa.Integer, nullable=False),
    sa.Column("last_visited_on", sa.Date, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_rm_talent_experts_name_id", "name", "expert_id"),
)

visits = sa.Table(
    "rm_talent_visits", metadata,
    sa.Column("visit_id", sa.String(_ID), primary_key=True),
    sa.Column("expert_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("expert_kind", sa.String(30), nullable=False),
    sa.Column("visited_on", sa.Date, nullable=False, index=True),
    sa.Column("visitors", sa.JSON, nullable=False),
    sa.Column("occasion", sa.String(20), nullable=False),
    sa.Column("issues", sa.Integer, nullable=False),
)

follow_ups = sa.Table(
    "rm_talent_follow_ups", metadata,
    sa.Column("follow_up_id", sa.String(_ID + 8), primary_key=True),
    sa.Column("visit_id", sa.String(_ID), nullable=False),
    sa.Column("expert_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("expert_name", sa.String(100), nullable=False),
    sa.Column("expert_kind", sa.String(30), nullable=False),
    sa.Column("raised_on", sa.Date, nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("action", sa.Text, nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("closed_on", sa.Date, nullable=True),
    sa.Column("resolution", sa.Text, nullable=True),
    sa.Index("ix_rm_talent_follow_ups_status_due", "status", "due_on", "follow_up_id"),
)

secondments = sa.Table(
    "rm_talent_secondments", metadata,
    sa.Column("secondment_id", sa.String(_ID), primary_key=True),
    sa.Column("expert_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("expert_name", sa.String(100), nullable=False),
    sa.Column("expert_kind", sa.String(30), nullable=False),
    sa.Column("host_unit", sa.String(200), nullable=False),
    sa.Column("post", sa.String(200), nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
    sa.Column("ended_on", sa.Date, nullable=True),
    sa.Column("evaluation", sa.Text, nullable=True),
)

positions = sa.Table(
    "rm_talent_internship_positions", metadata,
    sa.Column("position_id", sa.String(_ID), primary_key=True),
    sa.Column("host_unit", sa.String(200), nullable=False),
    sa.Column("post", sa.String(200), nullable=False),
    sa.Column("slots", sa.Integer, nullable=False),
    sa.Column("placed", sa.Integer, nullable=False),
    sa.Column("season", sa.String(10), nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
    sa.Column("published_on", sa.Date, nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("completed_on", sa.Date, nullable=True),
    sa.Column("completed_placements", sa.Integer, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_rm_talent_positions_unit_id", "host_unit", "position_id"),
)

placements = sa.Table(
    "rm_talent_placements", metadata,
    sa.Column("placement_id", sa.String(_ID), primary_key=True),
    sa.Column("position_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("student_name", sa.String(100), nullable=False),
    sa.Column("school", sa.String(200), nullable=False),
    sa.Column("major", sa.String(100), nullable=True),
    sa.Column("placed_on", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("withdrawn_on", sa.Date, nullable=True),
    sa.Column("withdrawal_reason", sa.Text, nullable=True),
)

universities = sa.Table(
    "rm_talent_universities", metadata,
    sa.Column("university_id", sa.String(_ID), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("city", sa.String(100), nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_rm_talent_universities_name_id", "name", "university_id"),
)

promotions = sa.Table(
    "rm_talent_promotion_events", metadata,
    sa.Column("promotion_id", sa.String(_ID), primary_key=True),
    sa.Column("university_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("held_on", sa.Date, nullable=False, index=True),
    sa.Column("attendees", sa.Integer, nullable=False),
    sa.Column("positions_offered", sa.Integer, nullable=False),
)

agreements = sa.Table(
    "rm_talent_agreements", metadata,
    sa.Column("agreement_id", sa.String(_ID), primary_key=True),
    sa.Column("university_id", sa.String(_ID), nullable=False, index=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("scope", sa.JSON, nullable=False),
    sa.Column("signed_on", sa.Date, nullable=False, index=True),
    sa.Column("term_ends_on", sa.Date, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("terminated_on", sa.Date, nullable=True),
    sa.Column("termination_reason", sa.Text, nullable=True),
)


class TalentProjection:
    """Every talent read model. Child rows are keyed by the ids the events carry, and counters
    change only with the event that changes them: the runner applies each stream version once."""

    name = "talent"
    metadata = metadata

    def handles(self, event_type: str) -> bool:
        return event_type.startswith("zugong.talent.")

    async def apply(self, conn: AsyncConnection, event: EventEnvelope) -> None:
        data = registry.decode(event.type, event.data)
        version = event.streamversion
        match data:
            case StudioCertified():
                await conn.execute(studios.insert().values(
                    studio_id=data.studio_id, name=data.name, field=data.field,
                    lead_name=data.lead.name, lead_title=data.lead.title,
                    host_unit=data.host_unit, document_number=data.document_number,
                    certified_on=data.effective_on, status="certified", funding_total=0, grants=0,
                    version=version))
            case StudioFundingGranted():
                studio = await self._row(conn, studios, studios.c.studio_id, data.studio_id)
                await conn.execute(grants.insert().values(
                    grant_id=data.grant_id, studio_id=data.studio_id, field=studio.field,
                    amount_yuan=data.amount_yuan, purpose=data.purpose,
                    granted_on=data.effective_on))
                await self._update(conn, studios, studios.c.studio_id, data.studio_id, version, {
                    "funding_total": studios.c.funding_total + data.amount_yuan,
                    "grants": studios.c.grants + 1})
            case StudioReviewed():
                await conn.execute(reviews.insert().values(
                    studio_id=data.studio_id, year=data.year, grade=data.grade,
                    comment=data.comment, reviewed_on=data.effective_on))
                latest = await conn.scalar(sa.select(sa.func.max(reviews.c.year)).where(
                    reviews.c.studio_id == data.studio_id))
                grade = await conn.scalar(sa.select(reviews.c.grade).where(
                    reviews.c.studio_id == data.studio_id, reviews.c.year == latest))
                await self._update(conn, studios, studios.c.studio_id, data.studio_id, version, {
                    "last_review_year": latest, "last_review_grade": grade})
            case StudioRevoked():
                await self._update(conn, studios, studios.c.studio_id, data.studio_id, version, {
                    "status": "revoked", "revoked_on": data.effective_on,
                    "revocation_reason": data.reason})
            case ExpertRegistered():
                await conn.execute(experts.insert().values(
                    expert_id=data.expert_id, name=data.name, kind=data.kind, field=data.field,
                    affiliation=data.affiliation, hometown=data.hometown,
                    phone_masked=data.phone.masked if data.phone else None,
                    phone_sealed=data.phone.ciphertext if data.phone else None,
                    registered_on=data.effective_on, term_ends_on=data.term_ends_on, visits=0,
                    version=version))
            case ExpertVisited():
                expert = await self._row(conn, experts, experts.c.expert_id, data.expert_id)
                await conn.execute(visits.insert().values(
                    visit_id=data.visit_id, expert_id=data.expert_id, expert_kind=expert.kind,
                    visited_on=data.effective_on, visitors=list(data.visitors),
                    occasion=data.occasion, issues=len(data.issues)))
                if data.issues:
                    await conn.execute(follow_ups.insert(), [{
                        "follow_up_id": i.follow_up_id, "visit_id": data.visit_id,
                        "expert_id": data.expert_id, "expert_name": expert.name,
                        "expert_kind": expert.kind, "raised_on": data.effective_on,
                        "description": i.description, "action": i.action, "owner": i.owner,
                        "due_on": i.due_on, "status": "open"} for i in data.issues])
                last = max(filter(None, [expert.last_visited_on, data.effective_on]))
                await self._update(conn, experts, experts.c.expert_id, data.expert_id, version, {
                    "visits": experts.c.visits + 1, "last_visited_on": last})
            case FollowUpClosed():
                await self._update(conn, follow_ups, follow_ups.c.follow_up_id, data.follow_up_id,
                                   None, {"status": "closed", "closed_on": data.effective_on,
                                          "resolution": data.resolution})
                await self._touch(conn, experts, experts.c.expert_id, data.expert_id, version)
            case SecondmentArranged():
                expert = await self._row(conn, experts, experts.c.expert_id, data.expert_id)
                await conn.execute(secondments.insert().values(
                    secondment_id=data.secondment_id, expert_id=data.expert_id,
                    expert_name=expert.name, expert_kind=expert.kind, host_unit=data.host_unit,
                    post=data.post, starts_on=data.starts_on, ends_on=data.ends_on))
                await self._touch(conn, experts, experts.c.expert_id, data.expert_id, version)
            case SecondmentEnded():
                await self._update(conn, secondments, secondments.c.secondment_id,
                                   data.secondment_id, None,
                                   {"ended_on": data.effective_on, "evaluation": data.evaluation})
                await self._touch(conn, experts, experts.c.expert_id, data.expert_id, version)
            case InternshipPositionPublished():
                await conn.execute(positions.insert().values(
                    position_id=data.position_id, host_unit=data.host_unit, post=data.post,
                    slots=data.slots, placed=0, season=data.season, starts_on=data.starts_on,
                    ends_on=data.ends_on, published_on=data.effective_on, status="open",
                    version=version))
            case InternPlaced():
                await conn.execute(placements.insert().values(
                    placement_id=data.placement_id, position_id=data.position_id,
                    student_name=data.student_name, school=data.school, major=data.major,
                    placed_on=data.effective_on, status="placed"))
                await self._update(conn, positions, positions.c.position_id, data.position_id,
                                   version, {"placed": positions.c.placed + 1})
            case InternPlacementWithdrawn():
                await self._update(conn, placements, placements.c.placement_id,
                                   data.placement_id, None,
                                   {"status": "withdrawn", "withdrawn_on": data.effective_on,
                                    "withdrawal_reason": data.reason})
                await self._update(conn, positions, positions.c.position_id, data.position_id,
                                   version, {"placed": positions.c.placed - 1})
            case InternshipPositionCompleted():
                await conn.execute(placements.update().where(
                    placements.c.position_id == data.position_id,
                    placements.c.status == "placed").values(status="completed"))
                await self._update(conn, positions, positions.c.position_id, data.position_id,
                                   version, {"status": "completed",
                                             "completed_on": data.effective_on,
                                             "completed_placements": data.completed_placements})
            case UniversityRegistered():
                await conn.execute(universities.insert().values(
                    university_id=data.university_id, name=data.name, city=data.city,
                    version=version))
            case RecruitmentPromotionHeld():
                await conn.execute(promotions.insert().values(
                    promotion_id=data.promotion_id, university_id=data.university_id,
                    title=data.title, held_on=data.effective_on, attendees=data.attendees,
                    positions_offered=data.positions_offered))
                await self._touch(conn, universities, universities.c.university_id,
                                  data.university_id, version)
            case CooperationAgreementSigned():
                await conn.execute(agreements.insert().values(
                    agreement_id=data.agreement_id, university_id=data.university_id,
                    title=data.title, scope=list(data.scope), signed_on=data.effective_on,
                    term_ends_on=data.term_ends_on, status="signed"))
                await self._touch(conn, universities, universities.c.university_id,
                                  data.university_id, version)
            case CooperationAgreementTerminated():
                await self._update(conn, agreements, agreements.c.agreement_id, data.agreement_id,
                                   None, {"status": "terminated",
                                          "terminated_on": data.effective_on,
                                          "termination_reason": data.reason})
                await self._touch(conn, universities, universities.c.university_id,
                                  data.university_id, version)

    @staticmethod
    async def _row(conn: AsyncConnection, table: sa.Table, key: sa.Column, value: str):
        row = (await conn.execute(sa.select(table).where(key == value))).first()
        if row is None:
            raise LookupError(f"{table.name}: {value} not in the read model (event out of order)")
        return row

    @staticmethod
    async def _update(conn: AsyncConnection, table: sa.Table, key: sa.Column, value: str,
                      version: int | None, values: dict) -> None:
        if version is not None:
            values = {**values, "version": version}
        result = await conn.execute(table.update().where(key == value).values(**values))
        if result.rowcount != 1:
            raise LookupError(f"{table.name}: {value} not in the read model (event out of order)")

    async def _touch(self, conn: AsyncConnection, table: sa.Table, key: sa.Column, value: str,
                     version: int) -> None:
        await self._update(conn, table, key, value, version, {})
