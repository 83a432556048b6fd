"""Personal data as it may appear in an event: never in plain text.

The owning service seals a value before it is recorded: consumers get a masked form for
display, a keyed digest for matching and de-duplication, and a ciphertext that only holders
of the platform's personal-data key (the gateway, for roles with the permission) can open.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SealedPersonalData"]


class SealedPersonalData(BaseModel):
    """A sealed personal-data value (national ID number, phone number)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["national_id", "phone"] = Field(description="What the value is.")
    masked: str = Field(description="Display form with the middle masked, e.g. `1101**********123X`.")
    digest: str = Field(description="HMAC-SHA256 (hex) of the normalised value under the platform key.")
    ciphertext: str = Field(description="Fernet token of the value under the platform key.")
