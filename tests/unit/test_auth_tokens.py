"""Token validation: development HS256, production RS256 with a PEM key or a JWKS (a local
file, no network), issuer/audience/expiry, and settings that refuse placeholder secrets."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationError

from services.kernel.auth import (
    ROLE_PERMISSIONS,
    AuthenticationFailed,
    Permission,
    TokenIssuer,
    TokenVerifier,
    token_verifier,
)
from services.kernel.settings import PLACEHOLDERS, Settings

ISSUER, AUDIENCE = "https://idp.example", "zugong"


def _rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(private) -> str:
    return private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _rs256(private, *, kid: str | None = "k1", **overrides) -> str:
    now = int(time.time())
    claims = {"sub": "u1", "role": "viewer", "iss": ISSUER, "aud": AUDIENCE, "iat": now,
              "exp": now + 600, **overrides}
    claims = {k: v for k, v in claims.items() if v is not None}
    headers = {"kid": kid} if kid else None
    return "Bearer " + jwt.encode(claims, private, algorithm="RS256", headers=headers)


@pytest.fixture(scope="module")
def keys():
    return _rsa_key(), _rsa_key()


@pytest.fixture
def jwks_file(tmp_path, keys):
    signing, _ = keys
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return path


def _production(**auth) -> Settings:
    return Settings(environment="production", personal_data_key="k" * 40,
                    auth={"issuer": ISSUER, "audience": AUDIENCE, **auth})


def test_development_hs256_round_trip_and_expiry(tmp_path):
    settings = Settings(environment="development", var_dir=tmp_path)
    assert len(settings.auth.jwt_secret) >= 32
    issuer = TokenIssuer(settings.auth.jwt_secret)
    verifier = token_verifier(settings)
    principal = verifier.verify("Bearer " + issuer.mint("ann", "township_operator", township="T1"))
    assert (principal.subject, principal.role, principal.township) == ("ann", "township_operator",
                                                                      "T1")
    with pytest.raises(AuthenticationFailed, match="expired"):
        verifier.verify("Bearer " + issuer.mint("ann", "viewer", ttl_seconds=-10))
    with pytest.raises(AuthenticationFailed):
        verifier.verify("Bearer " + TokenIssuer("another-secret-" * 3).mint("ann", "viewer"))
    # the same var/ folder gives the same generated secret (processes started together agree)
    assert Settings(environment="development", var_dir=tmp_path).auth.jwt_secret == \
        settings.auth.jwt_secret


def test_rs256_pem_checks_issuer_audience_expiry(keys):
    signing, other = keys
    verifier = token_verifier(_production(jwt_public_key=_pem(signing)))
    assert verifier.verify(_rs256(signing)).role == "viewer"
    for bad in (_rs256(signing, iss="https://evil.example"), _rs256(signing, aud="other"),
                _rs256(signing, exp=int(time.time()) - 5), _rs256(signing, exp=None),
                _rs256(other), _rs256(signing, role="superuser")):
        with pytest.raises(AuthenticationFailed):
            verifier.verify(bad)
    # algorithm confusion: an HS256 token keyed with the public key is refused
    forged = jwt.encode({"sub": "x", "role": "admin", "exp": int(time.time()) + 60,
                         "iss": ISSUER, "aud": AUDIENCE}, "not-the-key-" * 4, algorithm="HS256")
    with pytest.raises(AuthenticationFailed):
        verifier.verify("Bearer " + forged)


@pytest.mark.parametrize("form", ["path", "file_url"])
def test_jwks_file_picks_the_key_by_kid(keys, jwks_file, form):
    signing, other = keys
    source = str(jwks_file) if form == "path" else f"file://{jwks_file}"
    verifier = token_verifier(_production(jwks_url=source))
    assert verifier.verify(_rs256(signing, role="auditor")).role == "auditor"
    for bad in (_rs256(signing, kid="unknown"), _rs256(other), _rs256(signing, aud="x"),
                _rs256(signing, iss="https://evil.example"),
                _rs256(signing, exp=int(time.time()) - 5)):
        with pytest.raises(AuthenticationFailed):
            verifier.verify(bad)


def test_a_verifier_needs_a_key():
    with pytest.raises(ValueError):
        TokenVerifier()


@pytest.mark.parametrize("secret", sorted(PLACEHOLDERS))
def test_placeholder_secret_outside_development_refuses_to_start(secret):
    for environment in ("test", "production"):
        with pytest.raises(ValidationError, match="JWT_SECRET"):
            Settings(environment=environment, personal_data_key="k" * 40,
                     auth={"jwt_secret": secret})


def test_placeholder_personal_data_key_refuses_to_start():
    with pytest.raises(ValidationError, match="PERSONAL_DATA_KEY"):
        Settings(environment="production", personal_data_key="change-me",
                 auth={"jwt_secret": "s" * 40})


def test_production_with_keys_instead_of_a_secret_starts(keys, jwks_file):
    assert _production(jwks_url=str(jwks_file)).auth.jwt_secret == ""
    assert _production(jwt_public_key=_pem(keys[0])).auth.jwt_secret == ""


def test_role_matrix():
    assert ROLE_PERMISSIONS["admin"] == frozenset(Permission)
    assert ROLE_PERMISSIONS["auditor"] == {Permission.AUDIT_READ}
    readers = {role for role, perms in ROLE_PERMISSIONS.items() if Permission.AUDIT_READ in perms}
    assert readers == {"admin", "auditor"}
    unmasked = {role for role, perms in ROLE_PERMISSIONS.items()
                if Permission.PERSONAL_DATA_READ in perms}
    assert unmasked == {"admin", "personnel_officer", "talent_officer"}
    assert "viewer" not in unmasked and "operator" not in unmasked


def test_jwks_over_http_from_a_local_server(keys, jwks_file):
    """The URL form, served from 127.0.0.1 (no outside network); keys are cached."""
    import functools
    import http.server
    import threading

    requests = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests.append(args)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(jwks_file.parent)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{jwks_file.name}"
        verifier = token_verifier(_production(jwks_url=url))
        assert verifier.verify(_rs256(keys[0])).subject == "u1"
        assert verifier.verify(_rs256(keys[0], sub="u2")).subject == "u2"
        with pytest.raises(AuthenticationFailed):
            verifier.verify(_rs256(keys[1]))
        assert len(requests) <= 2  # fetched once, then again only for an unknown key
    finally:
        server.shutdown()
