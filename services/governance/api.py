"""HTTP API of the governance service: commands only (queries are the gateway's).

Routes come from ``contracts.api.governance.COMMANDS``; each is bound to the handler of the same
name, with the permission its level asks for, the actor's township scope, command metadata,
If-Match and Idempotency-Key.
"""

from __future__ import annotations

import inspect
import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from contracts.api.governance import COMMANDS, CommandAccepted, CommandRoute
from services.governance.handlers import HANDLERS, Actor, GovernanceDeps
from services.kernel.auth import Forbidden, Permission, Principal
from services.kernel.service_app import (
    DirectCommandRoute,
    IdempotencyKey,
    IfMatch,
    accepted,
    command_metadata,
    parse_if_match,
    require,
    run_command,
)

__all__ = ["LEVEL_PERMISSION", "PREFIX", "actor_scope", "router"]

PREFIX = "/api/v1/governance"
SERVICE = "governance"
LEVEL_PERMISSION = {"township": Permission.GOVERNANCE_WRITE,
                    "county": Permission.GOVERNANCE_ADMINISTER}
router = APIRouter(prefix=PREFIX, tags=["governance"], route_class=DirectCommandRoute)


async def deps(request: Request) -> GovernanceDeps:
    return request.app.state.governance


def actor_scope(principal: Principal) -> str | None:
    """The township a principal is confined to; None for county-wide roles."""
    if principal.role == "township_operator" and not principal.township:
        raise Forbidden("a township operator's token must carry a `township` claim")
    return principal.township


def _bind(route: CommandRoute) -> None:
    handle = HANDLERS[route.name]
    path_params = re.findall(r"{(\w+)}", route.path)
    params = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                annotation=Annotated[str, Path(max_length=100)])
              for name in path_params]
    if route.body is not None:
        params.append(inspect.Parameter("body", inspect.Parameter.KEYWORD_ONLY,
                                        annotation=route.body))
    params += [
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
        inspect.Parameter("response", inspect.Parameter.KEYWORD_ONLY, annotation=Response),
        inspect.Parameter("principal", inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[
            Principal, Depends(require(LEVEL_PERMISSION[route.level]))]),
        inspect.Parameter("d", inspect.Parameter.KEYWORD_ONLY,
                          annotation=Annotated[GovernanceDeps, Depends(deps)]),
        inspect.Parameter("idempotency_key", inspect.Parameter.KEYWORD_ONLY,
                          annotation=IdempotencyKey, default=None),
        inspect.Parameter("if_match", inspect.Parameter.KEYWORD_ONLY, annotation=IfMatch,
                          default=None),
    ]

    async def endpoint(**kwargs: Any) -> dict:
        request: Request = kwargs["request"]
        principal: Principal = kwargs["principal"]
        body = kwargs.get("body")
        path = {name: kwargs[name] for name in path_params}
        actor = Actor(
            meta=command_metadata(request, principal, body, kwargs["idempotency_key"],
                                  path_params=path),
            township=actor_scope(principal),
            county=principal.has(Permission.GOVERNANCE_ADMINISTER),
            if_match=parse_if_match(kwargs["if_match"]))
        args = (body,) if route.body is not None else ()
        outcome = await run_command(request, SERVICE, route.name,
                                    lambda: handle(kwargs["d"], actor, *args, **path))
        return accepted(outcome, kwargs["response"],
                        PREFIX + route.location.format(id=outcome.id))

    endpoint.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    endpoint.__name__ = route.name
    router.add_api_route(route.path, endpoint, methods=["POST"], status_code=201,
                         response_model=CommandAccepted, operation_id=f"governance_{route.name}",
                         summary=route.summary, name=route.name)


for _route in COMMANDS:
    _bind(_route)
