"""Personnel routes: commands forwarded to the personnel service, queries from read models."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from contracts.api.personnel import (
    AdjustEstablishment,
    AppointToPost,
    ApproveLeadershipPosts,
    ApproveRankQuotas,
    CommandAccepted,
    ConvertPostToRank,
    Depart,
    EnterReserve,
    Exchange,
    ExitReserve,
    PromoteRank,
    RecordEducation,
    RecruitCadre,
    RegisterUnit,
    ReviewReserveEntry,
)
from contracts.personnel import PostLevel, PromotionBasis, Rank, ReserveLevel
from gateway.context import ContextDep
from gateway.queries import AgeBand, CadreDetail, Page, UnitView
from gateway.queries_personnel import (
    Eligibility,
    ExchangeCandidates,
    Movements,
    ReservePool,
    Retirements,
    UnitStructure,
)
from services.kernel.auth import Permission, Principal
from services.kernel.errors import ZugongError
from services.kernel.http import PROBLEM_JSON
from services.kernel.service_app import DirectCommandRoute, IdempotencyKey, IfMatch, require

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["personnel"], route_class=DirectCommandRoute)
Reader = Annotated[Principal, Depends(require(Permission.PERSONNEL_READ))]
Writer = Annotated[Principal, Depends(require(Permission.PERSONNEL_WRITE))]
ConsistencyTokenHeader = Annotated[str | None, Header(
    alias="X-Consistency-Token",
    description="Token from a command's answer: wait until the read model includes it.")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]
PROJECTION = "personnel"


class BadPeriod(ZugongError):
    status, title, type_slug = 422, "Invalid period", "bad-period"

_PROBLEMS = {code: {"content": {PROBLEM_JSON: {}}, "description": text} for code, text in {
    401: "Missing or invalid token", 403: "Role lacks the permission",
    404: "Unknown resource", 409: "Conflict (concurrent change or duplicate)",
    412: "If-Match is stale", 422: "Invalid input or business rule violated"}.items()}


async def _forward(ctx, request: Request) -> Response:
    return await ctx.services["personnel"].forward(request)


@router.post("/personnel/units", status_code=201, response_model=CommandAccepted,
             responses=_PROBLEMS, operation_id="registerUnit")
async def register_unit(body: RegisterUnit, request: Request, principal: Writer,
                        ctx: ContextDep, idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@router.post("/personnel/units/{unit_id}/establishment-adjustments", status_code=201,
             response_model=CommandAccepted, responses=_PROBLEMS,
             operation_id="adjustEstablishment")
async def adjust_establishment(unit_id: str, body: AdjustEstablishment, request: Request,
                               principal: Writer, ctx: ContextDep,
                               idempotency_key: IdempotencyKey = None, if_match: IfMatch = None):
    return await _forward(ctx, request)


@router.post("/personnel/cadres", status_code=201, response_model=CommandAccepted,
             responses=_PROBLEMS, operation_id="recruitCadre")
async def recruit_cadre(body: RecruitCadre, request: Request, principal: Writer,
                        ctx: ContextDep, idempotency_key: IdempotencyKey = None):
    return await _forward(ctx, request)


@router.post("/personnel/units/{unit_id}/leadership-posts", status_code=201,
             response_model=CommandAccepted, responses=_PROBLEMS,
             operation_id="approveLeadershipPosts")
async def approve_leadership_posts(unit_id: str, body: ApproveLeadershipPosts, request: Request,
                                   principal: Writer, ctx: ContextDep,
                                   idempotency_key: IdempotencyKey = None,
                                   if_match: IfMatch = None):
    """Set the unit's approved leadership posts per level (核定领导职数)."""
    return await _forward(ctx, request)


@router.post("/personnel/units/{unit_id}/rank-quotas", status_code=201,
             response_model=CommandAccepted, responses=_PROBLEMS, operation_id="approveRankQuotas")
async def approve_rank_quotas(unit_id: str, body: ApproveRankQuotas, request: Request,
                              principal: Writer, ctx: ContextDep,
                              idempotency_key: IdempotencyKey = None, if_match: IfMatch = None):
    """Set the unit's rank quotas (职级职数)."""
    return await _forward(ctx, request)


@router.post("/personnel/cadres/{cadre_id}/education", status_code=201,
             response_model=CommandAccepted, responses=_PROBLEMS, operation_id="recordEducation")
async def record_education(cadre_id: str, body: RecordEducation, request: Request,
                           principal: Writer, ctx: ContextDep,
                           idempotency_key: IdempotencyKey = None, if_match: IfMatch = None):
    """Record a completed education (full-time or in-service; qualification and degree)."""
    return await _forward(ctx, request)


@router.post("/personnel/cadres/{cadre_id}/rank-promotions", status_code=201,
             response_model=CommandAccepted, responses=_PROBLEMS, operation_id="promoteRank")
async def promote_rank(cadre_id: str, body: PromoteRank, request: Request, principal: Writer,
                       ctx: ContextDep, idempotency_key: IdempotencyKey = None,
                       if_match: IfMatch = None):
    """Promote a civil servant on the 2019 ladder (within the unit's rank quota)."""
    return await _forward(ctx, request)


@router.post("/personnel/cadres/{cadre_id}/appointments", status_code=201,
             response_model=CommandAccepted, responses=_PROBLEMS, operation_id="appointToPost")
async def appoint_to_post(cadre_id: str, body: AppointToPost, request: Request, principal: Writer,
                          ctx: ContextDep, idempotency_key: IdempotencyKey = None,
                          if_match: IfMatch = None):
    """Appoint a cadre to a leadership post of their unit (within its approved posts)."""
    return await _forward(ctx, request)


@router.post("/personnel/cadres/{cadre_id}/post-to-rank-conversions", status_code=201,
             response_model=CommandAccepted, responses=_PROBLEMS,
             operation_id="convertPostToRank")
async def convert_post_to_rank(cadre_id: str, body: ConvertPostToRank, request: Request,
                               principal: Writer, ctx: ContextDep,
                               idempotency_key: IdempotencyKey = None, if_match: IfMatch = None):
    """Convert a leader to a rank; every post held is freed at once."""
    return await _forward(ctx, request)


@router.post("/personnel/cadres/{cadre_id}/exchanges", status_code=201,
             response_model=CommandAccepted, responses=_PROBLEMS, operation_id="exchangeCadre")
async def exchange_cadre(cadre_id: str, body: Exchange, request: Request, principal: Writer,
                         ctx: ContextDep, idempotency_key: IdempotencyKey = None,
                         if_match: IfMatch = None):
    """Exchange a cadre to another unit; the establishment slot moves atomically."""
    return await _forward(ctx, request)


@router.post("/personnel/cadres/{cadre_id}/departures", status_code=201,
             response_model=CommandAccepted, responses=_PROBLEMS, operation_id="departCadre")
async def depart_cadre(cadre_id: str, body: Depart, request: Request, principal: Writer,
                       ctx: ContextDep, idempotency_key: IdempotencyKey = None,
                       if_match: IfMatch = None):
    """Record a departure (retirement, resignation, transfer out, death)."""
    return await _forward(ctx, request)


@router.post("/personnel/reserve-entries", status_code=201, response_model=CommandAccepted,
             responses=_PROBLEMS, operation_id="enterReserve")
async def enter_reserve(body: EnterReserve, request: Request, principal: Writer, ctx: ContextDep,
                        idempotency_key: IdempotencyKey = None):
    """Enter a young cadre into the reserve pool; answers the entry's id."""
    return await _forward(ctx, request)


@router.post("/personnel/reserve-entries/{entry_id}/reviews", status_code=201,
             response_model=CommandAccepted, responses=_PROBLEMS,
             operation_id="reviewReserveEntry")
async def review_reserve_entry(entry_id: str, body: ReviewReserveEntry, request: Request,
                               principal: Writer, ctx: ContextDep,
                               idempotency_key: IdempotencyKey = None):
    """Record the (annual) review of an active reserve entry."""
    return await _forward(ctx, request)


@router.post("/personnel/reserve-entries/{entry_id}/exits", status_code=201,
             response_model=CommandAccepted, responses=_PROBLEMS, operation_id="exitReserve")
async def exit_reserve(entry_id: str, body: ExitReserve, request: Request, principal: Writer,
                       ctx: ContextDep, idempotency_key: IdempotencyKey = None):
    """Close an active reserve entry with a reason."""
    return await _forward(ctx, request)


def _consistency_header(response: Response, state: str | None) -> None:
    if state:
        response.headers["X-Consistency"] = state


def _etag(response: Response, version: int, if_none_match: str | None) -> Response | None:
    etag = f'"{version}"'
    response.headers["ETag"] = etag
    if if_none_match and etag in [t.strip().removeprefix("W/") for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=dict(response.headers))
    return None


OnDate = Annotated[date | None, Query(description="Reference date (ages, years); default today.")]


@router.get("/cadres/{cadre_id}", response_model=CadreDetail, responses=_PROBLEMS,
            operation_id="getCadre")
async def get_cadre(
    cadre_id: str, response: Response, principal: Reader, ctx: ContextDep,
    as_of: Annotated[date | None, Query(description="Show the cadre as of this date (events "
                                        "effective up to it).")] = None,
    consistency_token: ConsistencyTokenHeader = None, if_none_match: IfNoneMatch = None,
):
    """A cadre with their dated history; with `as_of`, as they were on that date."""
    _consistency_header(response, await ctx.consistency.wait(PROJECTION, consistency_token))
    cadre = await ctx.personnel.cadre(
        cadre_id, reveal=principal.has(Permission.PERSONAL_DATA_READ), as_of=as_of)
    return _etag(response, cadre.version, if_none_match) or cadre


@router.get("/cadres", response_model=Page, responses=_PROBLEMS, operation_id="listCadres")
async def list_cadres(
    response: Response, principal: Reader, ctx: ContextDep,
    unit_id: Annotated[str | None, Query(description="Only cadres of this unit.")] = None,
    category: Annotated[Literal["civil_servant", "institution_staff"] | None, Query()] = None,
    rank: Annotated[Rank | None, Query(description="Only cadres of this rank.")] = None,
    post_level: Annotated[PostLevel | Literal["none"] | None, Query(
        description="Highest post level held; `none` = not a leader.")] = None,
    reserve_level: Annotated[ReserveLevel | Literal["none"] | None, Query(
        description="Active reserve entry level; `none` = not in the reserve.")] = None,
    age_band: Annotated[AgeBand | None, Query(description="Age band on `on`.")] = None,
    status: Annotated[Literal["active", "departed", "all"], Query()] = "active",
    q: Annotated[str | None, Query(max_length=100,
                                   description="Text in the name or post title.")] = None,
    on: OnDate = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
    consistency_token: ConsistencyTokenHeader = None,
):
    """The roster (花名册), ordered by name, with filters and cursor pagination."""
    state = await ctx.consistency.wait(PROJECTION, consistency_token)
    # pre-serialised (the response model above documents it): see PersonnelQueries.cadres_json
    answer = Response(await ctx.personnel.cadres_json(
        unit_id=unit_id, q=q, category=category, rank=rank, post_level=post_level,
        reserve_level=reserve_level, age_band=age_band, status=status, on=on, limit=limit,
        cursor=cursor, reveal=principal.has(Permission.PERSONAL_DATA_READ)),
        media_type="application/json")
    _consistency_header(answer, state)
    return answer


@router.get("/units/{unit_id}", response_model=UnitView, responses=_PROBLEMS,
            operation_id="getUnit")
async def get_unit(unit_id: str, response: Response, principal: Reader, ctx: ContextDep,
                   consistency_token: ConsistencyTokenHeader = None,
                   if_none_match: IfNoneMatch = None):
    _consistency_header(response, await ctx.consistency.wait(PROJECTION, consistency_token))
    unit = await ctx.personnel.unit(unit_id)
    return _etag(response, unit.version, if_none_match) or unit


@router.get("/units/{unit_id}/structure", response_model=UnitStructure, responses=_PROBLEMS,
            operation_id="getUnitStructure")
async def get_unit_structure(unit_id: str, response: Response, principal: Reader, ctx: ContextDep,
                             on: OnDate = None, consistency_token: ConsistencyTokenHeader = None):
    """Establishment vs occupied vs vacant, leadership posts approved vs filled, rank quotas,
    age bands, average age and the shares aged 50+ and 55+."""
    _consistency_header(response, await ctx.consistency.wait(PROJECTION, consistency_token))
    return await ctx.personnel_reports.unit_structure(unit_id, on)


@router.get("/reserve-pool", response_model=ReservePool, responses=_PROBLEMS,
            operation_id="getReservePool")
async def get_reserve_pool(response: Response, principal: Reader, ctx: ContextDep,
                           on: OnDate = None, unit_id: str | None = None,
                           consistency_token: ConsistencyTokenHeader = None):
    """The young-cadre reserve by level, with age and education mix."""
    _consistency_header(response, await ctx.consistency.wait(PROJECTION, consistency_token))
    return await ctx.personnel_reports.reserve_pool(on, unit_id)


@router.get("/promotion-eligibility", response_model=Eligibility, responses=_PROBLEMS,
            operation_id="getPromotionEligibility")
async def get_promotion_eligibility(
    response: Response, principal: Reader, ctx: ContextDep, target_rank: Rank,
    on: Annotated[date | None, Query(description="Eligibility as of this date; default today.")
                  ] = None,
    basis: PromotionBasis | None = None, unit_id: str | None = None,
    consistency_token: ConsistencyTokenHeader = None,
):
    """Candidates for a rank on a date (a list to consider, never an automatic promotion)."""
    _consistency_header(response, await ctx.consistency.wait(PROJECTION, consistency_token))
    return await ctx.personnel_reports.promotion_eligibility(target_rank, on, basis, unit_id)


@router.get("/exchange-candidates", response_model=ExchangeCandidates, responses=_PROBLEMS,
            operation_id="getExchangeCandidates")
async def get_exchange_candidates(
    response: Response, principal: Reader, ctx: ContextDep, on: OnDate = None,
    years: Annotated[int | None, Query(ge=1, le=40, description="Full years in the same unit; "
                                       "default the configured rule (5).")] = None,
    unit_id: str | None = None, leaders_only: bool = False,
    consistency_token: ConsistencyTokenHeader = None,
):
    """Cadres who have been N or more full years in the same unit."""
    _consistency_header(response, await ctx.consistency.wait(PROJECTION, consistency_token))
    return await ctx.personnel_reports.exchange_candidates(on, years, unit_id, leaders_only)


@router.get("/retirements", response_model=Retirements, responses=_PROBLEMS,
            operation_id="getRetirements")
async def get_retirements(
    response: Response, principal: Reader, ctx: ContextDep, on: OnDate = None,
    years: Annotated[int, Query(ge=1, le=10, description="List those retiring within this many "
                                "years (the counts for 1, 3 and 5 are always given).")] = 5,
    unit_id: str | None = None, consistency_token: ConsistencyTokenHeader = None,
):
    """Cadres reaching retirement age within 1/3/5 years (configurable retirement ages)."""
    _consistency_header(response, await ctx.consistency.wait(PROJECTION, consistency_token))
    return await ctx.personnel_reports.retirements(on, years, unit_id)


@router.get("/personnel-movements", response_model=Movements, responses=_PROBLEMS,
            operation_id="getPersonnelMovements", response_model_by_alias=True)
async def get_personnel_movements(
    response: Response, principal: Reader, ctx: ContextDep,
    date_from: Annotated[date, Query(alias="from", description="First effective date.")],
    date_to: Annotated[date, Query(alias="to", description="Last effective date.")],
    consistency_token: ConsistencyTokenHeader = None,
):
    """Movement figures by effective date: recruitment, promotions, conversions, exchanges,
    departures and the reserve."""
    if date_to < date_from:
        raise BadPeriod("`to` precedes `from`",
                        errors=[{"pointer": "query:to", "detail": "before from"}])
    _consistency_header(response, await ctx.consistency.wait(PROJECTION, consistency_token))
    return await ctx.personnel_reports.movements(date_from, date_to)
