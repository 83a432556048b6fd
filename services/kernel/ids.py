"""Random identifiers."""

from __future__ import annotations

import os

__all__ = ["random_uuid"]

_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}
_BATCH = 128
_made: list[str] = []
"""UUIDs made ahead from one ``os.urandom`` call: each call is a system call, which cost as much
as the formatting here. ``list.pop`` hands each one out once, also between threads; a forked
child starts without the parent's."""
os.register_at_fork(after_in_child=_made.clear)


def _make_batch() -> None:
    h = os.urandom(16 * _BATCH).hex()
    _made.extend([f"{h[i:i + 8]}-{h[i + 8:i + 12]}-4{h[i + 13:i + 16]}-{_VARIANT[h[i + 16]]}"
                  f"{h[i + 17:i + 20]}-{h[i + 20:i + 32]}" for i in range(0, 32 * _BATCH, 32)])


def random_uuid() -> str:
    """The text of a random (version 4) UUID, as ``str(uuid.uuid4())``: the same 122 random bits
    from ``os.urandom``, for a fraction of the cost (``uuid.UUID`` checks and converts its input
    in Python), which the write path pays three times per command (request, aggregate, event)."""
    while True:
        try:
            return _made.pop()
        except IndexError:
            _make_batch()
