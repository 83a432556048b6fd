"""Random identifiers."""

from __future__ import annotations

import os

__all__ = ["random_uuid"]


def random_uuid() -> str:
    """The text of a random (version 4) UUID, as ``str(uuid.uuid4())``: the same 122 random bits
    from ``os.urandom``, for a third of the cost (``uuid.UUID`` checks and converts its input in
    Python), which the write path pays three times per command (request, aggregate, event)."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"
