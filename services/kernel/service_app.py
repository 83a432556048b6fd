"""What every service's HTTP app shares: auth, command metadata from headers, metrics, errors."""

from __future__ import annotations

import copy
import inspect
import re
import time
import weakref
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request, Response
from fastapi._compat import field_annotation_is_sequence
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.utils import (
    _get_param_aliases,
    _get_param_model,
    _is_json_field,
    request_body_to_args,
    request_params_to_args,
)
from fastapi.exceptions import RequestValidationError
from fastapi.routing import (
    APIRoute,
    APIRouter,
    _effective_route_context_var,
    _IncludedRouter,
    serialize_response,
)
from fastapi.telemetry._api import _get_request_telemetry
from fastapi.utils import is_body_allowed_for_status_code
from pydantic import BaseModel
from pydantic_core import PydanticUndefined
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.routing import Host

from services.kernel.auth import Permission, Principal, TokenVerifier
from services.kernel.commands import CommandOutcome
from services.kernel.errors import ZugongError
from services.kernel.eventstore import CommandMetadata
from services.kernel.http import install_problem_handlers, install_request_context
from services.kernel.ids import random_uuid
from services.kernel.metrics import Metrics

__all__ = [
    "DirectCommandRoute",
    "IdempotencyKey",
    "IfMatch",
    "InProcessCommands",
    "StaticRouteDispatch",
    "accepted",
    "authenticated",
    "command_metadata",
    "new_service_app",
    "parse_if_match",
    "require",
    "run_command",
]

_IF_MATCH = re.compile(r'^(?:W/)?"?(\d+)"?$')


class BadHeader(ZugongError):
    status, title, type_slug = 400, "Bad header", "bad-header"


def parse_if_match(value: str | None) -> int | None:
    if value is None:
        return None
    match = _IF_MATCH.match(value.strip())
    if not match:
        raise BadHeader(f'If-Match must be a version ETag such as "3", not {value!r}',
                        errors=[{"pointer": "header:If-Match", "detail": "not a version ETag"}])
    return int(match.group(1))


# Dependencies are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in its
# thread pool, a round trip to a worker thread and back per dependency and request.
async def authenticated(request: Request) -> Principal:
    verifier: TokenVerifier = request.app.state.verifier
    principal = verifier.verify(request.headers.get("authorization"))
    request.state.principal = principal
    return principal


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    # One dependency, not one on top of ``authenticated``: FastAPI resolves each nested
    # dependency per request at a cost comparable to the whole command.
    async def dependency(request: Request) -> Principal:
        principal = await authenticated(request)
        principal.require(permission)
        return principal

    dependency.required_permission = permission  # type: ignore[attr-defined]
    return dependency


IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                               description="Retry-safe key for this command.")]
IfMatch = Annotated[str | None, Header(alias="If-Match",
                                       description='Expected current version, e.g. "3".')]


def command_metadata(request: Request, principal: Principal, body: BaseModel | None,
                     idempotency_key: str | None, *, path_params: dict | None = None,
                     ) -> CommandMetadata:
    correlation_id = getattr(request.state, "correlation_id", None) or random_uuid()
    key = f"{principal.subject}:{idempotency_key}" if idempotency_key else None
    fingerprint = CommandMetadata.fingerprint_of({  # compared only for a keyed command
        "path": request.url.path, "params": path_params or {},
        "body": body.model_dump(mode="json") if body is not None else None}) if key else ""
    return CommandMetadata(actor=principal.subject, correlation_id=correlation_id,
                           causation_id=request.headers.get("x-causation-id") or correlation_id,
                           idempotency_key=key, fingerprint=fingerprint)


_COMMAND_METRICS: weakref.WeakKeyDictionary[Metrics, dict[tuple, Any]] = weakref.WeakKeyDictionary()


def _command_metric(metrics: Metrics, service: str, command: str, outcome: str | None) -> Any:
    """The labelled child (counter by outcome, or latency when ``outcome`` is None), kept:
    ``labels()`` costs more than the update itself."""
    children = _COMMAND_METRICS.get(metrics)
    if children is None:
        children = _COMMAND_METRICS[metrics] = {}
    key = (service, command, outcome)
    child = children.get(key)
    if child is None:
        child = children[key] = (metrics.command_latency.labels(service, command)
                                 if outcome is None
                                 else metrics.commands.labels(service, command, outcome))
    return child


async def run_command(request: Request, service: str, command: str,
                      call: Callable[[], Awaitable[CommandOutcome]]) -> CommandOutcome:
    metrics: Metrics = request.app.state.metrics
    started = time.perf_counter()
    outcome = "error"
    try:
        result = await call()
        outcome = "replayed" if result.replayed else "accepted"
        return result
    except ZugongError as error:
        outcome = {409: "conflict", 412: "precondition_failed", 404: "not_found"}.get(
            error.status, "rejected")
        raise
    finally:
        _command_metric(metrics, service, command, outcome).inc()
        _command_metric(metrics, service, command, None).observe(time.perf_counter() - started)


def accepted(outcome: CommandOutcome, response: Response, location: str) -> dict:
    response.status_code = 201
    response.headers["ETag"] = f'"{outcome.version}"'
    response.headers["Location"] = location
    response.headers["X-Consistency-Token"] = outcome.consistency_token
    if outcome.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return outcome.body()


def new_service_app(name: str, *, metrics: Metrics, verifier: TokenVerifier,
                    lifespan=None) -> FastAPI:
    app = FastAPI(title=f"Zugong {name} service", version="1", lifespan=lifespan)
    app.state.metrics = metrics
    app.state.verifier = verifier
    install_problem_handlers(app)
    install_request_context(app, metrics, name)
    return app


def _api_routes(routes) -> list:
    out = []
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI keeps includes lazy
        out += _api_routes(included.routes) if included is not None else [route]
    return [r for r in out if isinstance(r, APIRoute)]


def _plain_request_dependency(dependant) -> bool:
    """A dependency that takes only the request (``require(...)``, a service's ``deps``)."""
    return (dependant.call is not None and dependant.request_param_name is not None
            and not dependant.dependencies and not dependant.path_params
            and not dependant.query_params and not dependant.header_params
            and not dependant.cookie_params and not dependant.body_params
            and dependant.response_param_name is None
            and dependant.background_tasks_param_name is None
            and dependant.security_scopes_param_name is None
            and not inspect.isgeneratorfunction(dependant.call)
            and not inspect.isasyncgenfunction(dependant.call))


def _request_only(dependant) -> bool:
    """Path and header parameters, at most one body, the request, and dependencies that take
    only the request: what the two direct paths below solve without FastAPI's generic
    dependency resolution."""
    d = dependant
    return (inspect.iscoroutinefunction(d.call)
            and not d.query_params and not d.cookie_params and len(d.body_params) <= 1
            and d.request_param_name is not None
            and d.background_tasks_param_name is None and d.security_scopes_param_name is None
            and d.websocket_param_name is None and d.http_connection_param_name is None
            and all(_plain_request_dependency(sub) for sub in d.dependencies))


def _direct_call_supported(route: APIRoute) -> bool:
    return ("POST" in route.methods and _request_only(route.dependant)
            and route.response_field is not None
            and isinstance(route.response_class, DefaultPlaceholder)
            and route.dependant.response_param_name is not None)


async def _call_dependencies(dependant, request: Request, values: dict[str, Any]) -> None:
    for sub in dependant.dependencies:  # in FastAPI's order, before any parameter: 401/403 first
        value = sub.call(**{sub.request_param_name: request})
        values[sub.name] = await value if inspect.isawaitable(value) else value


_VALIDATED = "zugong.validated"
"""Scope key: the gateway route (``DirectCommandRoute``) that solved this request, and its values."""


class DirectCommandRoute(APIRoute):
    """A route whose plainly valid POST requests skip FastAPI's generic request handling.

    FastAPI's handler cost about as much CPU as the command it forwards (dependency resolution
    scans every parameter kind and builds caches on each request). For a POST route of the
    plain kind (path and header parameters, one JSON body, the request, dependencies taking
    only the request) a request with ``content-type: application/json``, a JSON body and valid
    parameters is solved here with the route's own fields, in FastAPI's order (body, then
    dependencies, then parameters). Any other request — and any request when dependency
    overrides, a body size limit or FastAPI telemetry are in use — is answered by FastAPI's own
    handler, exactly as before, so every error answer is FastAPI's by construction. The values
    are left in the scope, where ``InProcessCommands`` takes those the service route declares
    identically instead of validating the same body and headers a second time."""

    async def handle(self, scope, receive, send) -> None:
        learning = _learning.get()
        if learning is not None:
            _learning.set(None)
        if (learning is not None and not self.param_convertors and self.methods
                and scope["method"] in self.methods):
            learning[0].remember(learning[1], self, learning[2], scope)
        await super().handle(scope, receive, send)

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        standard = super().get_route_handler()
        context = _effective_route_context_var.get()  # an included route's view of itself
        route = context if context is not None and context.original_route is self else self
        d = route.dependant
        if ("POST" not in (route.methods or ()) or not _request_only(d)
                or d.response_param_name is not None):
            return standard
        return _lean_handler(route, standard)


_learning: ContextVar[tuple | None] = ContextVar("zugong_static_route_learning", default=None)
"""Set while ``StaticRouteDispatch`` routes a request the normal way to learn from it (a
context variable, not a scope key: the scope a route is handed stays FastAPI's)."""


class StaticRouteDispatch:
    """The app router's entry point, with the routing of each parameterless path remembered.

    FastAPI matches a request against the routes one by one, through each included router
    (twice: once to choose the router, once inside it); a command to the personnel service
    cost ≈ 35 µs of routing, one to governance ≈ 340 µs. The first request for a (method,
    path) goes through the router as before; when it reaches a ``DirectCommandRoute`` without
    path parameters whose methods include it, what routing added to the scope is remembered,
    and the next requests for the same (method, path, root_path) get the same scope and the
    same route's ``handle`` directly. Matching depends only on those (no ``Host`` route, no
    router middleware: else this is not installed), and any change of the routes forgets
    everything. Requests FastAPI's telemetry follows, and anything not learnt, are routed
    the normal way, so 404, 405, redirects and routes with parameters are answered as before."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self.routed = router.middleware_stack
        self._known: dict[tuple, tuple[APIRoute, dict, dict]] = {}
        self._routers: list[APIRouter] = []
        self._version: tuple = ()

    @classmethod
    def install(cls, app: FastAPI) -> bool:
        """Put a dispatch in front of ``app``'s router; False when its routing may depend on
        more than the method and path (router middleware, a ``Host`` route)."""
        router = app.router
        if router.middleware_stack != router.app or any(
                isinstance(r, Host) for r in _all_routes(router)):
            return False
        router.middleware_stack = cls(router)
        return True

    def _current_version(self) -> tuple:
        router = self.router
        return (len(router.routes), router._routes_version,
                *[r._routes_version for r in self._routers])

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or "fastapi" in scope or "router" in scope \
                or "fastapi.telemetry" in scope:
            await self.routed(scope, receive, send)
            return
        key = (scope["method"], scope["path"], scope.get("root_path", ""))
        known = self._known.get(key)
        if known is not None and self._current_version() == self._version:
            route, added, fastapi_added = known
            scope.update(added)
            scope["path_params"] = {}
            scope["fastapi"] = {k: dict(v) if type(v) is dict else v
                                for k, v in fastapi_added.items()}
            await route.handle(scope, receive, send)
            return
        token = _learning.set((self, key, dict(scope)))
        try:
            await self.routed(scope, receive, send)
        finally:
            _learning.reset(token)

    def remember(self, key: tuple, route: APIRoute, before: dict, scope: dict) -> None:
        added = {k: v for k, v in scope.items()
                 if k not in ("fastapi", "path_params")
                 and (k not in before or before[k] is not v)}
        fastapi_added = scope.get("fastapi")
        if (scope.get("path_params") != {} or not isinstance(fastapi_added, dict)
                or (scope["method"], scope["path"], scope.get("root_path", "")) != key
                or scope.get("router") is not self.router or "fastapi.telemetry" in scope):
            return  # not the request being learnt from, or not a plain static route
        version = self._current_version()
        if version != self._version:  # the routes changed (or first use): start again
            self._known.clear()
            self._routers = [r for r in _all_routers(self.router) if r is not self.router]
            self._version = version = self._current_version()
        self._known[key] = (route, added, dict(fastapi_added))


def _all_routers(router: APIRouter, seen: set[int] | None = None) -> list[APIRouter]:
    seen = set() if seen is None else seen
    if id(router) in seen:
        return []
    seen.add(id(router))
    found = [router]
    for route in router.routes:
        if isinstance(route, _IncludedRouter):
            found += _all_routers(route.original_router, seen)
    return found


def _all_routes(router: APIRouter) -> list:
    return [route for r in _all_routers(router) for route in r.routes]


def _param_plan(fields) -> list[tuple[Any, str, tuple[str, str]]] | None:
    """(field, request key, error location) of each path or header parameter when all are
    single values under one name, as ``request_params_to_args`` reads them; else None."""
    plan = []
    for field in fields:
        if (_get_param_model(field) is not None or _is_json_field(field)
                or field_annotation_is_sequence(field.field_info.annotation)):
            return None
        aliases = _get_param_aliases(field)
        if len(aliases) != 1:
            return None
        plan.append((field, aliases[0][1], (field.field_info.in_.value, aliases[0][1])))
    return plan


def _solve_params(plan, received, values: dict[str, Any]) -> bool:
    """``request_params_to_args`` for a plan: False when a value fails (FastAPI answers)."""
    for field, key, loc in plan:
        value = received.get(key)
        if value is None:
            if field.field_info.is_required():
                return False
            value = copy.deepcopy(field.default)
            if not field.field_info.validate_default:
                values[field.name] = value
                continue
        value, errors = field.validate(value, values, loc=loc)
        if errors:
            return False
        values[field.name] = value
    return True


def _lean_handler(route, standard: Callable[[Request], Awaitable[Response]]
                  ) -> Callable[[Request], Awaitable[Response]]:
    dependant = route.dependant
    body_params = dependant.body_params
    embed = route._embed_body_fields
    dump_json = route.response_field is not None and isinstance(route.response_class,
                                                                 DefaultPlaceholder)
    response_class = (route.response_class.value
                      if isinstance(route.response_class, DefaultPlaceholder)
                      else route.response_class)
    status = {"status_code": route.status_code} if route.status_code else {}
    path_plan, header_plan = (_param_plan(dependant.path_params),
                              _param_plan(dependant.header_params))
    if path_plan is None or header_plan is None:
        return standard

    async def handler(request: Request) -> Response:
        scope = request.scope
        if (getattr(route.dependency_overrides_provider, "dependency_overrides", None)
                or MAX_BODY_SIZE_SCOPE_KEY in scope or _get_request_telemetry() is not None):
            return await standard(request)
        body: Any = PydanticUndefined
        if body_params:
            if request.headers.get("content-type") != "application/json":
                return await standard(request)
            try:
                raw = await request.body()
            except Exception as error:  # as FastAPI's handler answers it without a body limit
                raise HTTPException(status_code=400,
                                    detail="There was an error parsing the body") from error
            if not raw:
                return await standard(request)
            try:
                body = await request.json()
            except ValueError:  # FastAPI's handler parses it again and answers the error
                return await standard(request)
        values: dict[str, Any] = {}
        await _call_dependencies(dependant, request, values)
        if not (_solve_params(path_plan, scope.get("path_params", {}), values)
                and _solve_params(header_plan, request.headers, values)):
            return await standard(request)
        if body_params:
            found, errors = await request_body_to_args(body_params, body, embed)
            if errors:
                return await standard(request)
            values.update(found)
        scope[_VALIDATED] = (route, values)
        raw = await dependant.call(**values, **{dependant.request_param_name: request})
        if isinstance(raw, Response):
            return raw
        content = await serialize_response(
            field=route.response_field, response_content=raw,
            include=route.response_model_include, exclude=route.response_model_exclude,
            by_alias=route.response_model_by_alias,
            exclude_unset=route.response_model_exclude_unset,
            exclude_defaults=route.response_model_exclude_defaults,
            exclude_none=route.response_model_exclude_none, is_coroutine=True,
            dump_json=dump_json)
        response = (Response(content, media_type="application/json", **status) if dump_json
                    else response_class(content, **status))
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        return response

    return handler


def _field_signature(field) -> tuple:
    info = field.field_info
    return (type(info), field.name, field.alias, info.annotation, repr(info.default),
            tuple(map(repr, info.metadata)), getattr(info, "convert_underscores", None),
            getattr(info, "embed", None))


def _shared_parameters(gateway_route, route: APIRoute) -> dict[str, str] | None:
    """Each parameter of the service route → the gateway route's parameter declared
    identically (same kind, name, alias, type, default and constraints); None unless every
    one has such a twin, so that the gateway's validated value is the service's."""
    if route._embed_body_fields != gateway_route._embed_body_fields:
        return None
    theirs = {_field_signature(f): f.name for f in (
        *gateway_route.dependant.path_params, *gateway_route.dependant.header_params,
        *gateway_route.dependant.body_params)}
    shared = {}
    for field in (*route.dependant.path_params, *route.dependant.header_params,
                  *route.dependant.body_params):
        twin = theirs.get(_field_signature(field))
        if twin is None:
            return None
        shared[field.name] = twin
    return shared


class InProcessCommands:
    """A service's command routes called directly by a gateway in the same process.

    The gateway's route has parsed the request and authorised the caller already; sending the
    same request through the service's FastAPI app again (middleware, routing, dependency
    resolution, response model) cost more than the command itself. This runs the service
    route's own endpoint, which stays the one place a command is defined, with the values
    FastAPI would give it: path and header parameters and the body validated by the route's
    own fields, its request-only dependencies (permission, service dependencies) called with a
    request addressed to the service app, and the answer serialised by its response model.
    Errors propagate as exceptions to the gateway, whose problem handlers are the services'.
    A route this cannot call (other parameter kinds or dependencies) answers None: the caller
    sends it through ASGI instead."""

    def __init__(self, app: FastAPI, name: str) -> None:
        self.app, self.name = app, name
        self._routes = [r for r in _api_routes(app.routes) if _direct_call_supported(r)]
        self._by_template: dict[str, APIRoute] = {}
        self._latency: dict[tuple[str, int], Any] = {}
        self._shared: dict[tuple[int, int], tuple[Any, dict[str, str] | None]] = {}

    def _shared_with(self, gateway_route, route: APIRoute) -> dict[str, str] | None:
        key = (id(gateway_route), id(route))
        known = self._shared.get(key)
        if known is None or known[0] is not gateway_route:  # holding it keeps its id unique
            known = self._shared[key] = (gateway_route, _shared_parameters(gateway_route, route))
        return known[1]

    def _match(self, path: str, template: str | None) -> tuple[APIRoute, dict] | None:
        known = self._by_template.get(template) if template else None
        for route in ([known] if known is not None else []) + self._routes:
            found = route.path_regex.match(path)
            if found:
                if template and known is None:
                    self._by_template[template] = route
                return route, {k: route.param_convertors[k].convert(v)
                               for k, v in found.groupdict().items()}
        return None

    async def call(self, request: Request) -> Response | None:
        gateway_route = request.scope.get("route")
        found = self._match(request.scope["path"], getattr(gateway_route, "path", None))
        if found is None:
            return None
        route, path_params = found
        started = time.perf_counter()
        status = 500
        try:
            response = await self._run(request, route, path_params)
            status = response.status_code
            return response
        except ZugongError as error:
            status = error.status
            raise
        except RequestValidationError:
            status = 422
            raise
        finally:
            key = (route.path, status)
            child = self._latency.get(key)
            if child is None:  # the service is timed as its own RequestContextMiddleware would
                child = self._latency[key] = self.app.state.metrics.http_latency.labels(
                    self.name, "POST", route.path, str(status))
            child.observe(time.perf_counter() - started)

    async def _run(self, request: Request, route: APIRoute, path_params: dict) -> Response:
        dependant = route.dependant
        scope = {**request.scope, "app": self.app, "path_params": path_params, "route": route,
                 "endpoint": route.endpoint}
        service_request = Request(scope, request.receive)
        values: dict[str, Any] = {}
        await _call_dependencies(dependant, service_request, values)
        validated = request.scope.get(_VALIDATED)
        shared = self._shared_with(validated[0], route) if validated is not None else None
        if shared is not None:  # the gateway's route validated the same fields already
            given = validated[1]
            values.update({name: given[twin] for name, twin in shared.items()})
        else:
            errors: list = []
            found, problems = request_params_to_args(dependant.path_params, path_params)
            values.update(found)
            errors += problems
            found, problems = request_params_to_args(dependant.header_params, request.headers)
            values.update(found)
            errors += problems
            body: Any = None
            if dependant.body_params:
                body = await request.json() if await request.body() else PydanticUndefined
                found, problems = await request_body_to_args(
                    dependant.body_params, body, route._embed_body_fields)
                values.update(found)
                errors += problems
            if errors:
                raise RequestValidationError(errors, body=body)
        sub_response = Response()
        del sub_response.headers["content-length"]
        sub_response.status_code = None  # type: ignore[assignment]
        values[dependant.request_param_name] = service_request
        values[dependant.response_param_name] = sub_response
        raw = await dependant.call(**values)
        if isinstance(raw, Response):
            return raw
        content = await serialize_response(field=route.response_field, response_content=raw,
                                           dump_json=True)
        response = Response(content, status_code=sub_response.status_code or route.status_code
                            or 200, media_type="application/json")
        response.headers.raw.extend(sub_response.headers.raw)
        return response
