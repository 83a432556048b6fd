"""Bearer-token authentication and the role → permission matrix, shared by gateway and services."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import jwt

from services.kernel.errors import ZugongError

__all__ = [
    "ROLE_PERMISSIONS",
    "AuthenticationFailed",
    "Forbidden",
    "JwksKeys",
    "Permission",
    "Principal",
    "TokenIssuer",
    "TokenVerifier",
    "token_verifier",
]


class Permission(StrEnum):
    PERSONNEL_READ = "personnel:read"
    PERSONNEL_WRITE = "personnel:write"
    PERSONAL_DATA_READ = "personal_data:read"
    OPERATIONS_READ = "operations:read"
    TALENT_READ = "talent:read"
    TALENT_WRITE = "talent:write"
    TRAINING_READ = "training:read"
    TRAINING_WRITE = "training:write"
    GOVERNANCE_READ = "governance:read"
    GOVERNANCE_WRITE = "governance:write"
    GOVERNANCE_ADMINISTER = "governance:administer"
    COMPLAINT_CONTACT_READ = "complaint_contact:read"
    DASHBOARD_READ = "dashboard:read"
    AUDIT_READ = "audit:read"
    EVENTS_READ = "events:read"
    """The live stream; each change is then shown only to roles that may read its service."""


_LIVE = Permission.EVENTS_READ

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "personnel_officer": frozenset(
        {Permission.PERSONNEL_READ, Permission.PERSONNEL_WRITE, Permission.PERSONAL_DATA_READ, _LIVE}),
    "training_officer": frozenset(
        {Permission.TRAINING_READ, Permission.TRAINING_WRITE, Permission.PERSONNEL_READ, _LIVE}),
    "talent_officer": frozenset(
        {Permission.TALENT_READ, Permission.TALENT_WRITE, Permission.PERSONAL_DATA_READ, _LIVE}),
    # legacy name kept for existing tokens: a read-only personnel role (the roster, no personal data)
    "operator": frozenset({Permission.PERSONNEL_READ, _LIVE}),
    "viewer": frozenset({Permission.PERSONNEL_READ, Permission.TRAINING_READ,
                         Permission.TALENT_READ, Permission.GOVERNANCE_READ,
                         Permission.DASHBOARD_READ, _LIVE}),
    "governance_officer": frozenset({
        Permission.GOVERNANCE_READ, Permission.GOVERNANCE_WRITE, Permission.GOVERNANCE_ADMINISTER,
        Permission.COMPLAINT_CONTACT_READ, _LIVE}),
    # scoped by the token's `township` claim to that township's records
    "township_operator": frozenset({
        Permission.GOVERNANCE_READ, Permission.GOVERNANCE_WRITE, Permission.COMPLAINT_CONTACT_READ,
        _LIVE}),
    # reads the audit log (who did what, when, on which record) and nothing else
    "auditor": frozenset({Permission.AUDIT_READ}),
}


class AuthenticationFailed(ZugongError):
    status, title, type_slug = 401, "Unauthorized", "unauthorized"


class Forbidden(ZugongError):
    status, title, type_slug = 403, "Forbidden", "forbidden"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: str
    township: str | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLE_PERMISSIONS.get(self.role, frozenset())

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if not self.has(permission):
            raise Forbidden(f"role {self.role!r} lacks the permission {permission.value!r}")


class JwksKeys:
    """RS256 verification keys from a JWKS document, picked by the token's ``kid``.

    ``source`` is an http(s) URL (fetched when first needed and cached; refetched when a token
    names an unknown ``kid``, so keys can rotate) or the path of a JWKS JSON file."""

    def __init__(self, source: str, *, cache_seconds: int = 300) -> None:
        self._source = source
        self._client: jwt.PyJWKClient | None = None
        self._keys: dict[str | None, jwt.PyJWK] = {}
        if source.startswith(("http://", "https://")):
            self._client = jwt.PyJWKClient(source, cache_keys=True, lifespan=cache_seconds)
        else:
            path = Path(source.removeprefix("file://"))
            keys = jwt.PyJWKSet.from_json(path.read_text()).keys
            self._keys = {key.key_id: key for key in keys}
            if len(keys) == 1:
                self._keys.setdefault(None, keys[0])

    def key_for(self, token: str) -> Any:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        kid = jwt.get_unverified_header(token).get("kid")
        if kid not in self._keys:
            raise jwt.InvalidKeyError(f"no key with kid {kid!r} in the configured JWKS")
        return self._keys[kid].key


class TokenVerifier:
    """Validates JWT bearer tokens: HS256 with a secret in development, RS256 with a PEM public
    key or a JWKS in production; issuer and audience when configured, expiry always."""

    def __init__(
        self, key: str | None = None, *, algorithms: tuple[str, ...] = ("HS256",),
        issuer: str | None = None, audience: str | None = None, jwks: JwksKeys | None = None,
    ) -> None:
        if key is None and jwks is None:
            raise ValueError("a TokenVerifier needs a key or a JWKS")
        self._key, self._algorithms, self._jwks = key, list(algorithms), jwks
        self._issuer, self._audience = issuer, audience
        self._verified: dict[str, tuple[Principal, float]] = {}

    _CACHE_SIZE = 4096

    def verify(self, authorization: str | None) -> Principal:
        """The principal of a valid ``Bearer`` token.

        A token that verified is remembered (by its exact text) until its ``exp``: a client
        sends the same token with every request, and the gateway and the in-process service
        each verify it, so the signature check would otherwise run twice per command."""
        if not authorization:
            raise AuthenticationFailed("missing bearer token (Authorization: Bearer <token>)")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationFailed("the Authorization header must be 'Bearer <token>'")
        token = token.strip()
        cached = self._verified.get(token)
        if cached is not None:
            if time.time() < cached[1]:
                return cached[0]
            del self._verified[token]
        principal, expires = self._decode(token)
        if len(self._verified) >= self._CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (principal, expires)
        return principal

    def _decode(self, token: str) -> tuple[Principal, float]:
        try:
            key = self._jwks.key_for(token) if self._jwks is not None else self._key
            claims = jwt.decode(
                token, key, algorithms=self._algorithms,
                issuer=self._issuer, audience=self._audience,
                options={"require": ["sub", "role", "exp"], "verify_aud": bool(self._audience)},
            )
        except jwt.PyJWTError as error:
            raise AuthenticationFailed(f"invalid token: {error}") from None
        role = claims["role"]
        if role not in ROLE_PERMISSIONS:
            raise AuthenticationFailed(f"unknown role {role!r}")
        principal = Principal(subject=str(claims["sub"]), role=role,
                              township=claims.get("township"))
        return principal, float(claims["exp"])


def token_verifier(settings) -> TokenVerifier:
    """The verifier the settings describe: RS256 with a JWKS or a public key, else HS256."""
    auth = settings.auth
    if auth.jwks_url:
        return TokenVerifier(algorithms=("RS256",), issuer=auth.issuer, audience=auth.audience,
                             jwks=JwksKeys(auth.jwks_url))
    if auth.jwt_public_key:
        return TokenVerifier(auth.jwt_public_key, algorithms=("RS256",), issuer=auth.issuer,
                             audience=auth.audience)
    return TokenVerifier(auth.jwt_secret, issuer=auth.issuer, audience=auth.audience)


class TokenIssuer:
    """Mints development tokens signed with the development secret."""

    def __init__(self, secret: str, *, issuer: str | None = None,
                 audience: str | None = None) -> None:
        self._secret, self._issuer, self._audience = secret, issuer, audience

    def mint(self, subject: str, role: str, *, township: str | None = None,
             ttl_seconds: int = 30 * 24 * 3600) -> str:
        if role not in ROLE_PERMISSIONS:
            raise ValueError(f"unknown role {role!r}; one of {sorted(ROLE_PERMISSIONS)}")
        now = int(time.time())
        claims = {"sub": subject, "role": role, "iat": now, "exp": now + ttl_seconds}
        if township:
            claims["township"] = township
        if self._issuer:
            claims["iss"] = self._issuer
        if self._audience:
            claims["aud"] = self._audience
        return jwt.encode(claims, self._secret, algorithm="HS256")
