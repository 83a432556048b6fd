"""The platform configured with a JWKS: the gateway and the services behind it accept the
identity provider's RS256 tokens (issuer and audience checked) and refuse development ones."""

from __future__ import annotations

import json
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from services.kernel.auth import TokenIssuer
from tests.support.embedded import embedded_client, embedded_settings


async def test_gateway_and_services_validate_tokens_against_the_jwks(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="idp-1", alg="RS256")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    settings = embedded_settings(tmp_path / "var", auth={
        "jwks_url": str(jwks), "issuer": "https://idp.example", "audience": "zugong"})

    def rs256(role: str, **claims) -> dict[str, str]:
        now = int(time.time())
        body = {"sub": "idp-user", "role": role, "iss": "https://idp.example", "aud": "zugong",
                "iat": now, "exp": now + 300, **claims}
        signed = jwt.encode(body, key, algorithm="RS256", headers={"kid": "idp-1"})
        return {"Authorization": f"Bearer {signed}"}

    async with embedded_client(settings) as client:
        unit = {"name": "怀仁市委组织部", "kind": "party_government_organ",
                "establishment": {"administrative": 2, "institution": 0}}
        created = await client.post("/api/v1/personnel/units", json=unit,
                                    headers=rs256("personnel_officer"))
        assert created.status_code == 201, created.text  # the service re-checked the token too
        listed = await client.get("/api/v1/cadres", headers=rs256("viewer"))
        assert listed.status_code == 200
        for bad in (rs256("viewer", aud="other"), rs256("viewer", iss="https://evil.example"),
                    rs256("viewer", exp=int(time.time()) - 1),
                    {"Authorization": "Bearer " + TokenIssuer(settings.auth.jwt_secret).mint(
                        "dev", "admin")}):
            response = await client.get("/api/v1/cadres", headers=bad)
            assert response.status_code == 401, response.text
