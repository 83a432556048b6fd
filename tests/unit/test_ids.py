"""Random UUIDs made without ``uuid.UUID``."""

from __future__ import annotations

import uuid

from services.kernel.ids import random_uuid


def test_random_uuids_are_version_4_uuids_in_canonical_text() -> None:
    made = [random_uuid() for _ in range(20_000)]
    for text in made:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert len(set(made)) == len(made)
    assert {text[19] for text in made} == set("89ab")  # the variant keeps its 2 random bits
    assert {text[15] for text in made} == set("0123456789abcdef")


def test_a_forked_child_does_not_repeat_its_parents_uuids() -> None:
    import os

    random_uuid()  # the parent has made some ahead
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        os.write(write, "\n".join(random_uuid() for _ in range(200)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        theirs = set(pipe.read().split("\n"))
    os.waitpid(child, 0)
    ours = {random_uuid() for _ in range(200)}
    assert len(theirs) == 200 and not theirs & ours
