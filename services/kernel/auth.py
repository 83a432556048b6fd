"""Bearer-token authentication and the role → permission matrix, shared by gateway and services."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

import jwt

from services.kernel.errors import ZugongError

__all__ = [
    "ROLE_PERMISSIONS",
    "AuthenticationFailed",
    "Forbidden",
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


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "personnel_officer": frozenset(
        {Permission.PERSONNEL_READ, Permission.PERSONNEL_WRITE, Permission.PERSONAL_DATA_READ}),
    "training_officer": frozenset(
        {Permission.TRAINING_READ, Permission.TRAINING_WRITE, Permission.PERSONNEL_READ}),
    "talent_officer": frozenset(
        {Permission.TALENT_READ, Permission.TALENT_WRITE, Permission.PERSONAL_DATA_READ}),
    "operator": frozenset({Permission.PERSONNEL_READ}),
    "viewer": frozenset({Permission.PERSONNEL_READ, Permission.TRAINING_READ,
                         Permission.TALENT_READ, Permission.GOVERNANCE_READ,
                         Permission.DASHBOARD_READ}),
    "governance_officer": frozenset({
        Permission.GOVERNANCE_READ, Permission.GOVERNANCE_WRITE, Permission.GOVERNANCE_ADMINISTER,
        Permission.COMPLAINT_CONTACT_READ}),
    # scoped by the token's `township` claim to that township's records
    "township_operator": frozenset({
        Permission.GOVERNANCE_READ, Permission.GOVERNANCE_WRITE, Permission.COMPLAINT_CONTACT_READ}),
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


class TokenVerifier:
    """Validates JWT bearer tokens (HS256 in development, RS256 with a public key otherwise)."""

    def __init__(
        self, key: str, *, algorithms: tuple[str, ...] = ("HS256",),
        issuer: str | None = None, audience: str | None = None,
    ) -> None:
        self._key, self._algorithms = key, list(algorithms)
        self._issuer, self._audience = issuer, audience

    def verify(self, authorization: str | None) -> Principal:
        if not authorization:
            raise AuthenticationFailed("missing bearer token (Authorization: Bearer <token>)")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationFailed("the Authorization header must be 'Bearer <token>'")
        try:
            claims = jwt.decode(
                token.strip(), self._key, algorithms=self._algorithms,
                issuer=self._issuer, audience=self._audience,
                options={"require": ["sub", "role", "exp"], "verify_aud": bool(self._audience)},
            )
        except jwt.PyJWTError as error:
            raise AuthenticationFailed(f"invalid token: {error}") from None
        role = claims["role"]
        if role not in ROLE_PERMISSIONS:
            raise AuthenticationFailed(f"unknown role {role!r}")
        return Principal(subject=str(claims["sub"]), role=role, township=claims.get("township"))


def token_verifier(settings) -> TokenVerifier:
    """The verifier the settings describe: RS256 with a public key, else HS256."""
    auth = settings.auth
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
