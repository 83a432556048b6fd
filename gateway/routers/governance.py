"""Governance routes: commands forwarded to the governance service, queries from read models.

Township operators (a `township` claim in the token) are confined to their township here as
in the service: another township's record is 404, a list filter naming it is 403.
"""

from __future__ import annotations

import inspect
import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response

from contracts.api.governance import COMMANDS, CommandAccepted, CommandRoute
from contracts.governance import SlaPolicy
from gateway.context import ContextDep, GatewayContext
from gateway.queries_governance import (
    FUNNEL_GROUPS,
    KPI_GROUPS,
    RECT_GROUPS,
    AccessCheck,
    AccessEntryView,
    AlertView,
    CandidateView,
    CapacityOverview,
    CaseSummaryView,
    CaseView,
    CommunityView,
    ComplaintView,
    CompoundMetrics,
    CompoundView,
    DraftItemView,
    Funnel,
    ItemChange,
    KpiFormulas,
    KpiReport,
    OverdueMeasureView,
    Page,
    PublishedList,
    RectificationSummary,
    RuleView,
    TownshipView,
    VersionView,
    VillageReserve,
    VillageView,
)
from services.kernel.auth import Forbidden, Permission, Principal
from services.kernel.http import PROBLEM_JSON
from services.kernel.service_app import DirectCommandRoute, IdempotencyKey, IfMatch, require

__all__ = ["router"]

PREFIX = "/api/v1/governance"
PROJECTION = "governance"
router = APIRouter(prefix=PREFIX, tags=["governance"], route_class=DirectCommandRoute)
Reader = Annotated[Principal, Depends(require(Permission.GOVERNANCE_READ))]
ConsistencyTokenHeader = Annotated[str | None, Header(
    alias="X-Consistency-Token",
    description="Token from a command's answer: wait until the read model includes it.")]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=500,
                                     description="`next_cursor` of the previous page.")]
TownshipFilter = Annotated[str | None, Query(max_length=40, description="Only this township.")]
LEVEL_PERMISSION = {"township": Permission.GOVERNANCE_WRITE,
                    "county": Permission.GOVERNANCE_ADMINISTER}

_PROBLEMS = {code: {"content": {PROBLEM_JSON: {}}, "description": text} for code, text in {
    401: "Missing or invalid token", 403: "Role lacks the permission, or another township",
    404: "Unknown resource (or another township's)", 409: "Conflict (state or duplicate)",
    412: "If-Match is stale", 422: "Invalid input or business rule violated"}.items()}


def scope_of(principal: Principal) -> str | None:
    if principal.role == "township_operator" and not principal.township:
        raise Forbidden("a township operator's token must carry a `township` claim")
    return principal.township


async def _fresh(ctx: GatewayContext, response: Response, token: str | None) -> None:
    state = await ctx.consistency.wait(PROJECTION, token)
    if state:
        response.headers["X-Consistency"] = state


def _forwarder(route: CommandRoute) -> None:
    path_params = re.findall(r"{(\w+)}", route.path)
    params = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                annotation=Annotated[str, Path(max_length=100)])
              for name in path_params]
    if route.body is not None:
        params.append(inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY,
                                        annotation=route.body))
    params += [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
        inspect.Parameter("principal", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[
            Principal, Depends(require(LEVEL_PERMISSION[route.level]))]),
        inspect.Parameter("ctx", inspect.Parameter.KEYWORD_ONLY, annotation=ContextDep),
        inspect.Parameter("idempotency_key", inspect.Parameter.KEYWORD_ONLY,
                          annotation=IdempotencyKey, default=None),
        inspect.Parameter("if_match", inspect.Parameter.KEYWORD_ONLY, annotation=IfMatch,
                          default=None),
    ]

    async def forward(**kwargs: Any) -> Response:
        scope_of(kwargs["principal"])
        return await kwargs["ctx"].services["governance"].forward(kwargs["request"])

    forward.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    forward.__name__ = route.name
    router.add_api_route(route.path, forward, methods=["POST"], status_code=201,
                         response_model=CommandAccepted, responses=_PROBLEMS,
                         operation_id=f"governance_{route.name}", summary=route.summary,
                         name=f"governance_{route.name}")


for _route in COMMANDS:
    _forwarder(_route)


# --- geography and township capacity -----------------------------------------------------------

@router.get("/township-capacity", response_model=CapacityOverview, responses=_PROBLEMS,
            operation_id="governance_township_capacity")
async def township_capacity(
    response: Response, principal: Reader, ctx: ContextDep,
    period_from: Annotated[date | None, Query(alias="from", description="Period start (incl.).")] = None,
    period_to: Annotated[date | None, Query(alias="to", description="Period end (incl.).")] = None,
    consistency_token: ConsistencyTokenHeader = None,
):
    """Party-building offices, hires by kind and institutional rules, per township and in total."""
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.capacity_overview(scope_of(principal), period_from, period_to)


@router.get("/townships", response_model=Page[TownshipView], responses=_PROBLEMS,
            operation_id="governance_list_townships")
async def list_townships(response: Response, principal: Reader, ctx: ContextDep,
                         limit: Limit = 100, cursor: Cursor = None,
                         consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.townships(scope_of(principal), limit, cursor)


@router.get("/townships/{township_id}", response_model=TownshipView, responses=_PROBLEMS,
            operation_id="governance_get_township")
async def get_township(township_id: str, response: Response, principal: Reader, ctx: ContextDep,
                       consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.township(township_id, scope_of(principal))


@router.get("/villages", response_model=Page[VillageView], responses=_PROBLEMS,
            operation_id="governance_list_villages")
async def list_villages(response: Response, principal: Reader, ctx: ContextDep,
                        township_id: TownshipFilter = None, limit: Limit = 100,
                        cursor: Cursor = None, consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.villages(scope_of(principal), township_id, limit, cursor)


@router.get("/villages/{village_id}", response_model=VillageView, responses=_PROBLEMS,
            operation_id="governance_get_village")
async def get_village(village_id: str, response: Response, principal: Reader, ctx: ContextDep,
                      consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.village(village_id, scope_of(principal))


@router.get("/communities", response_model=Page[CommunityView], responses=_PROBLEMS,
            operation_id="governance_list_communities")
async def list_communities(response: Response, principal: Reader, ctx: ContextDep,
                           township_id: TownshipFilter = None, limit: Limit = 100,
                           cursor: Cursor = None,
                           consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.communities(scope_of(principal), township_id, limit, cursor)


@router.get("/communities/{community_id}", response_model=CommunityView, responses=_PROBLEMS,
            operation_id="governance_get_community")
async def get_community(community_id: str, response: Response, principal: Reader,
                        ctx: ContextDep, consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.community(community_id, scope_of(principal))


@router.get("/compounds", response_model=Page[CompoundView], responses=_PROBLEMS,
            operation_id="governance_list_compounds")
async def list_compounds(
    response: Response, principal: Reader, ctx: ContextDep, township_id: TownshipFilter = None,
    community_id: Annotated[str | None, Query(max_length=40)] = None, limit: Limit = 100,
    cursor: Cursor = None, consistency_token: ConsistencyTokenHeader = None,
):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.compounds(scope_of(principal), township_id, community_id, limit,
                                          cursor)


@router.get("/compounds/metrics", response_model=CompoundMetrics, responses=_PROBLEMS,
            operation_id="governance_compound_metrics")
async def compound_metrics(
    response: Response, principal: Reader, ctx: ContextDep, township_id: TownshipFilter = None,
    community_id: Annotated[str | None, Query(max_length=40)] = None,
    as_of: Annotated[datetime | None, Query(
        description="Figures at this instant (its local date for stations and monitoring; the "
        "instant for open alerts' breaches); default now.")] = None,
    period_from: Annotated[date | None, Query(alias="from", description="Alerts raised on or after.")] = None,
    period_to: Annotated[date | None, Query(alias="to", description="Alerts raised on or before.")] = None,
    target: Annotated[float, Query(ge=0, le=1, description="Service-station coverage target.")] = 0.7,
    consistency_token: ConsistencyTokenHeader = None,
):
    """Service-station coverage, monitoring connected, alerts by type and level, mean time to
    acknowledge and to resolve, SLA breaches."""
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.compound_metrics(
        scope_of(principal), township_id=township_id, community_id=community_id, as_of=as_of,
        period_from=period_from, period_to=period_to, target=target)


@router.get("/compounds/{compound_id}", response_model=CompoundView, responses=_PROBLEMS,
            operation_id="governance_get_compound")
async def get_compound(compound_id: str, response: Response, principal: Reader, ctx: ContextDep,
                       consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.compound(compound_id, scope_of(principal))


@router.get("/institutional-rules", response_model=Page[RuleView], responses=_PROBLEMS,
            operation_id="governance_list_institutional_rules")
async def list_rules(response: Response, principal: Reader, ctx: ContextDep,
                     township_id: TownshipFilter = None, limit: Limit = 100,
                     cursor: Cursor = None, consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.rules(scope_of(principal), township_id, limit, cursor)


# --- SLA policy and complaints -------------------------------------------------------------------

PeriodFrom = Annotated[date | None, Query(alias="from", description="Received on or after (local date).")]
PeriodTo = Annotated[date | None, Query(alias="to", description="Received on or before (local date).")]
AsOf = Annotated[datetime | None, Query(
    description="The instant clocks are read at (overdue, due for response); default now.")]
CommunityFilter = Annotated[str | None, Query(max_length=40, description="Only this community.")]
Category = Annotated[Literal["consultation", "help", "complaint", "report", "suggestion"] | None,
                     Query()]


@router.get("/sla-policy", response_model=SlaPolicy, responses=_PROBLEMS,
            operation_id="governance_get_sla_policy")
async def get_sla_policy(response: Response, principal: Reader, ctx: ContextDep,
                         consistency_token: ConsistencyTokenHeader = None):
    """The SLA policy in force (the defaults of REFERENCE.md §2.3 until one is set)."""
    await _fresh(ctx, response, consistency_token)
    scope_of(principal)
    return await ctx.governance.sla_policy()


@router.get("/complaints/kpis", response_model=KpiReport, responses=_PROBLEMS,
            operation_id="governance_complaint_kpis")
async def complaint_kpis(
    response: Response, principal: Reader, ctx: ContextDep,
    group_by: Annotated[Literal[KPI_GROUPS], Query()] = "handling_unit",  # type: ignore[valid-type]
    township_id: TownshipFilter = None, community_id: CommunityFilter = None,
    category: Category = None, period_from: PeriodFrom = None, period_to: PeriodTo = None,
    as_of: AsOf = None,
    satisfied_ratings: Annotated[list[Literal["satisfied", "basically_satisfied", "dissatisfied"]] | None,
                                 Query(description="Ratings counted as satisfied; default "
                                       "satisfied and basically_satisfied.")] = None,
    return_counts: Annotated[Literal["requested", "granted"], Query(
        description="Count returns asked for, or only those granted.")] = "requested",
    consistency_token: ConsistencyTokenHeader = None,
):
    """响应率 / 解决率 / 满意率, completion, on-time completion, timely sign-for, return and reopen
    rates of the orders received in the period, with numerators and denominators."""
    await _fresh(ctx, response, consistency_token)
    formulas = KpiFormulas(
        satisfied_ratings=frozenset(satisfied_ratings or ("satisfied", "basically_satisfied")),
        return_counts=return_counts)
    return await ctx.governance.complaint_kpis(
        scope_of(principal), group_by=group_by, township_id=township_id,
        community_id=community_id, category=category, period_from=period_from,
        period_to=period_to, as_of=as_of, formulas=formulas)


@router.get("/complaints", response_model=Page[ComplaintView], responses=_PROBLEMS,
            operation_id="governance_list_complaints")
async def list_complaints(
    response: Response, principal: Reader, ctx: ContextDep, township_id: TownshipFilter = None,
    community_id: CommunityFilter = None,
    handling_unit_id: Annotated[str | None, Query(max_length=100)] = None,
    category: Category = None,
    state: Annotated[Literal["received", "dispatched", "signed", "return_requested",
                             "result_reported", "followed_up", "closed"] | None, Query()] = None,
    overdue: Annotated[bool | None, Query(description="Only orders with a passed deadline "
                                          "(true) or none (false) at `as_of`.")] = None,
    period_from: PeriodFrom = None, period_to: PeriodTo = None, as_of: AsOf = None,
    limit: Limit = 100, cursor: Cursor = None, consistency_token: ConsistencyTokenHeader = None,
):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.complaints(
        scope_of(principal), township_id=township_id, community_id=community_id,
        unit_id=handling_unit_id, category=category, state=state, overdue=overdue,
        period_from=period_from, period_to=period_to, as_of=as_of,
        reveal=principal.has(Permission.COMPLAINT_CONTACT_READ), limit=limit, cursor=cursor)


@router.get("/complaints/{complaint_id}", response_model=ComplaintView, responses=_PROBLEMS,
            operation_id="governance_get_complaint")
async def get_complaint(complaint_id: str, response: Response, principal: Reader,
                        ctx: ContextDep, as_of: AsOf = None,
                        consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.complaint(
        complaint_id, scope_of(principal), principal.has(Permission.COMPLAINT_CONTACT_READ), as_of)


@router.get("/alerts", response_model=Page[AlertView], responses=_PROBLEMS,
            operation_id="governance_list_alerts")
async def list_alerts(
    response: Response, principal: Reader, ctx: ContextDep, township_id: TownshipFilter = None,
    compound_id: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[Literal["raised", "acknowledged", "dispatched", "resolved", "false_alarm"]
                     | None, Query()] = None,
    level: Annotated[Literal["critical", "major", "minor"] | None, Query()] = None,
    type: Annotated[str | None, Query(max_length=30)] = None,
    as_of: AsOf = None, limit: Limit = 100, cursor: Cursor = None,
    consistency_token: ConsistencyTokenHeader = None,
):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.alerts(
        scope_of(principal), township_id=township_id, compound_id=compound_id, state=state,
        level=level, type_=type, as_of=as_of, limit=limit, cursor=cursor)


@router.get("/alerts/{alert_id}", response_model=AlertView, responses=_PROBLEMS,
            operation_id="governance_get_alert")
async def get_alert(alert_id: str, response: Response, principal: Reader, ctx: ContextDep,
                    as_of: AsOf = None, consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.alert(alert_id, scope_of(principal), as_of)


# --- rectification -------------------------------------------------------------------------------

Year = Annotated[int | None, Query(ge=2000, le=2100, description="Rectification year.")]
AsOfDate = Annotated[date | None, Query(description="The date figures are read at; default today.")]
VillageFilter = Annotated[str | None, Query(max_length=40, description="Only this village.")]


@router.get("/rectification/summary", response_model=RectificationSummary, responses=_PROBLEMS,
            operation_id="governance_rectification_summary")
async def rectification_summary(
    response: Response, principal: Reader, ctx: ContextDep,
    group_by: Annotated[Literal[RECT_GROUPS], Query()] = "category",  # type: ignore[valid-type]
    township_id: TownshipFilter = None, year: Year = None, as_of: AsOfDate = None,
    consistency_token: ConsistencyTokenHeader = None,
):
    """Cases, problems found and solved, measures and their completion, overdue measures and
    the sign-off rate, by category, township or year."""
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.rectification_summary(
        scope_of(principal), group_by=group_by, township_id=township_id, year=year, as_of=as_of)


@router.get("/rectification/overdue-measures", response_model=Page[OverdueMeasureView],
            responses=_PROBLEMS, operation_id="governance_overdue_measures")
async def overdue_measures(response: Response, principal: Reader, ctx: ContextDep,
                           township_id: TownshipFilter = None, year: Year = None,
                           as_of: AsOfDate = None, limit: Limit = 100, cursor: Cursor = None,
                           consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.overdue_measures(scope_of(principal), township_id=township_id,
                                                 year=year, as_of=as_of, limit=limit,
                                                 cursor=cursor)


@router.get("/rectification-cases", response_model=Page[CaseSummaryView], responses=_PROBLEMS,
            operation_id="governance_list_rectification_cases")
async def list_rectification_cases(
    response: Response, principal: Reader, ctx: ContextDep, township_id: TownshipFilter = None,
    village_id: VillageFilter = None, year: Year = None,
    state: Annotated[Literal["rectifying", "accepted", "signed_off"] | None, Query()] = None,
    category: Annotated[Literal["weak_organisation", "poor_service", "low_capability",
                                "lax_management"] | None, Query()] = None,
    limit: Limit = 100, cursor: Cursor = None, consistency_token: ConsistencyTokenHeader = None,
):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.rectification_cases(
        scope_of(principal), township_id=township_id, village_id=village_id, year=year,
        state=state, category=category, limit=limit, cursor=cursor)


@router.get("/rectification-cases/{case_id}", response_model=CaseView, responses=_PROBLEMS,
            operation_id="governance_get_rectification_case")
async def get_rectification_case(case_id: str, response: Response, principal: Reader,
                                 ctx: ContextDep, as_of: AsOfDate = None,
                                 consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.rectification_case(case_id, scope_of(principal), as_of)


# --- reserve pipeline ----------------------------------------------------------------------------

LeaderFilter = Annotated[bool | None, Query(description="Only leader candidates (true) or the "
                                            "others (false).")]


@router.get("/reserve/funnel", response_model=Funnel, responses=_PROBLEMS,
            operation_id="governance_reserve_funnel")
async def reserve_funnel(
    response: Response, principal: Reader, ctx: ContextDep,
    group_by: Annotated[Literal[FUNNEL_GROUPS], Query()] = "township",  # type: ignore[valid-type]
    township_id: TownshipFilter = None, village_id: VillageFilter = None,
    leader_candidate: LeaderFilter = None, consistency_token: ConsistencyTokenHeader = None,
):
    """Candidates and leader candidates; how many reached each stage; where they are now."""
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.reserve_funnel(
        scope_of(principal), group_by=group_by, township_id=township_id, village_id=village_id,
        leader_candidate=leader_candidate)


@router.get("/reserve/villages-without-qualified", response_model=list[VillageReserve],
            responses=_PROBLEMS, operation_id="governance_villages_without_qualified_reserve")
async def villages_without_qualified(
    response: Response, principal: Reader, ctx: ContextDep, township_id: TownshipFilter = None,
    minimum: Annotated[int, Query(ge=1, le=10, description="Qualified reserves a village "
                                  "should keep (REFERENCE.md c.4: at least 1).")] = 1,
    consistency_token: ConsistencyTokenHeader = None,
):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.villages_without_qualified_reserve(
        scope_of(principal), township_id=township_id, minimum=minimum)


@router.get("/reserve-candidates", response_model=Page[CandidateView], responses=_PROBLEMS,
            operation_id="governance_list_reserve_candidates")
async def list_reserve_candidates(
    response: Response, principal: Reader, ctx: ContextDep, township_id: TownshipFilter = None,
    village_id: VillageFilter = None,
    stage: Annotated[Literal["identified", "surveyed", "talked", "on_trial", "trial_completed",
                             "qualified", "exited"] | None, Query()] = None,
    leader_candidate: LeaderFilter = None, limit: Limit = 100, cursor: Cursor = None,
    consistency_token: ConsistencyTokenHeader = None,
):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.reserve_candidates(
        scope_of(principal), township_id=township_id, village_id=village_id, stage=stage,
        leader_candidate=leader_candidate, limit=limit, cursor=cursor)


@router.get("/reserve-candidates/{candidate_id}", response_model=CandidateView,
            responses=_PROBLEMS, operation_id="governance_get_reserve_candidate")
async def get_reserve_candidate(candidate_id: str, response: Response, principal: Reader,
                                ctx: ContextDep, consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    return await ctx.governance.reserve_candidate(candidate_id, scope_of(principal))


# --- responsibility list and village access lists -----------------------------------------------

OnDate = Annotated[date | None, Query(description="The date; default today.")]


@router.get("/responsibility-list", response_model=PublishedList, responses=_PROBLEMS,
            operation_id="governance_published_responsibility_list")
async def published_list(
    response: Response, principal: Reader, ctx: ContextDep, on: OnDate = None,
    domain: Annotated[str | None, Query(max_length=50)] = None,
    lead_department: Annotated[str | None, Query(max_length=100)] = None,
    consistency_token: ConsistencyTokenHeader = None,
):
    """The list as published and in force on a date, filtered by domain and lead department."""
    await _fresh(ctx, response, consistency_token)
    scope_of(principal)
    return await ctx.governance.published_list(on=on, domain=domain,
                                               lead_department=lead_department)


@router.get("/responsibility-list/versions", response_model=list[VersionView],
            responses=_PROBLEMS, operation_id="governance_responsibility_list_versions")
async def list_versions(response: Response, principal: Reader, ctx: ContextDep,
                        consistency_token: ConsistencyTokenHeader = None):
    """Every published version with the codes it added, amended and repealed."""
    await _fresh(ctx, response, consistency_token)
    scope_of(principal)
    return await ctx.governance.list_versions()


@router.get("/responsibility-list/items", response_model=Page[DraftItemView], responses=_PROBLEMS,
            operation_id="governance_draft_responsibility_items")
async def draft_items(
    response: Response, principal: Reader, ctx: ContextDep,
    status: Annotated[Literal["active", "repealed"] | None, Query()] = None,
    pending: Annotated[bool | None, Query(description="Only items changed since the last "
                                          "version (true) or unchanged (false).")] = None,
    limit: Limit = 100, cursor: Cursor = None, consistency_token: ConsistencyTokenHeader = None,
):
    """The working draft of the list (what the next version would publish)."""
    await _fresh(ctx, response, consistency_token)
    scope_of(principal)
    return await ctx.governance.draft_items(status=status, pending=pending, limit=limit,
                                            cursor=cursor)


@router.get("/responsibility-list/items/{code}/history", response_model=list[ItemChange],
            responses=_PROBLEMS, operation_id="governance_responsibility_item_history")
async def item_history(code: str, response: Response, principal: Reader, ctx: ContextDep,
                       consistency_token: ConsistencyTokenHeader = None):
    await _fresh(ctx, response, consistency_token)
    scope_of(principal)
    return await ctx.governance.item_history(code)


@router.get("/village-access/entries", response_model=Page[AccessEntryView], responses=_PROBLEMS,
            operation_id="governance_access_entries")
async def list_access_entries(
    response: Response, principal: Reader, ctx: ContextDep,
    kind: Annotated[Literal["statutory_duty", "assistance", "negative", "certificate",
                            "signboard"] | None, Query()] = None,
    on: OnDate = None,
    include_removed: Annotated[bool, Query(description="Every entry ever admitted.")] = False,
    limit: Limit = 100, cursor: Cursor = None, consistency_token: ConsistencyTokenHeader = None,
):
    await _fresh(ctx, response, consistency_token)
    scope_of(principal)
    return await ctx.governance.access_entries(kind=kind, on=on, include_removed=include_removed,
                                               limit=limit, cursor=cursor)


@router.get("/village-access/check", response_model=AccessCheck, responses=_PROBLEMS,
            operation_id="governance_access_check")
async def access_check(
    response: Response, principal: Reader, ctx: ContextDep,
    question: Annotated[Literal["task", "certificate", "signboard"], Query(
        description="May a village be asked to do it / issue it / hang it?")],
    name: Annotated[str, Query(min_length=1, max_length=200)],
    on: OnDate = None, consistency_token: ConsistencyTokenHeader = None,
):
    """Yes or no, with the entry the answer rests on."""
    await _fresh(ctx, response, consistency_token)
    scope_of(principal)
    return await ctx.governance.access_check(question, name, on)
