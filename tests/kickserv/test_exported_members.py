"""`kickserv.__all__` lists every public name once, sorted, and each is really exported (as httpx's
tests/test_exported_members.py does)."""

from __future__ import annotations

import kickserv


def test_all_is_sorted_and_unique():
    assert kickserv.__all__ == sorted(kickserv.__all__)
    assert len(set(kickserv.__all__)) == len(kickserv.__all__)


def test_all_matches_the_public_names_of_the_package():
    exported = set(kickserv.__all__)
    public = {
        name
        for name, value in vars(kickserv).items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith("kickserv")
    }
    assert exported == public


def test_every_exported_name_exists():
    for name in kickserv.__all__:
        assert getattr(kickserv, name) is not None
