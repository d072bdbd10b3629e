"""The engine's small state structures, on hand-checked cases."""

from __future__ import annotations

import pytest

from correlator.state import LinkIndex, Member, TimeIndex

POINTS = [(0.0, "a"), (10.0, "b"), (12.0, "c"), (30.0, "d"), (31.0, "e")]


@pytest.mark.parametrize(
    ("t", "within", "limit", "expected"),
    [
        (11.0, 5.0, 10, ["b", "c"]),  # ties go to the earlier side first
        (11.5, 5.0, 10, ["c", "b"]),
        (11.0, 0.5, 10, []),
        (30.5, 100.0, 3, ["d", "e", "c"]),
        (-50.0, 60.0, 10, ["a", "b"]),
        (100.0, 70.0, 10, ["e", "d"]),
        (12.0, 0.0, 10, ["c"]),
        (20.0, 100.0, 0, []),
    ],
    ids=["tie", "closer-right", "none-within", "capped", "before-all", "after-all",
         "exact", "zero-limit"],
)
def test_nearest_is_closest_first_within_the_window(
    t: float, within: float, limit: int, expected: list[str]
) -> None:
    index = TimeIndex()
    for when, fp in reversed(POINTS):
        index.add(when, fp)
    assert index.nearest(t, within, limit) == expected


def test_nearest_on_an_empty_index() -> None:
    assert TimeIndex().nearest(0.0, 10.0, 5) == []


@pytest.mark.parametrize(
    ("t", "lo", "hi", "expected"),
    [
        (11.0, 0.0, 31.0, [(1.0, "b"), (1.0, "c"), (11.0, "a"), (19.0, "d"), (20.0, "e")]),
        (11.0, 5.0, 12.0, [(1.0, "b"), (1.0, "c")]),
        (12.0, 12.0, 12.0, [(0.0, "c")]),
        (0.0, 11.0, 30.0, [(12.0, "c"), (30.0, "d")]),  # window wholly after t
        (40.0, 0.0, 11.0, [(30.0, "b"), (40.0, "a")]),  # window wholly before t
        (20.0, 13.0, 29.0, []),
    ],
    ids=["everything", "clipped", "exact", "after-only", "before-only", "empty-window"],
)
def test_outward_walks_the_window_closest_first(
    t: float, lo: float, hi: float, expected: list[tuple[float, str]]
) -> None:
    index = TimeIndex()
    for when, fp in POINTS:
        index.add(when, fp)
    assert list(index.outward(t, lo, hi)) == expected


def _member(fp: str, key: str, t: float, rank: tuple[int, int, float, str] | None) -> Member:
    member = Member()
    member.fingerprint = fp
    member.key = key
    member.group_time = t
    member.parent_rank = rank
    return member


@pytest.mark.parametrize(
    ("offer", "expected"),
    [
        # Not "tight": it is closer to its parent already.
        ((0, 1), {"root", "peer", "far-hops", "loose", "far-late"}),
        # Not "far-hops" either: same class, linked 0.1 s away, but 2 s from the offer.
        ((0, 2), {"root", "peer", "far-late"}),
        ((1, 0), {"root", "far-late"}),
        ((2, 1), {"root", "far-late"}),
    ],
    ids=["explainer-1-hop", "explainer-2-hops", "peer", "late-cause"],
)
def test_link_index_skips_alerts_already_linked_better(
    offer: tuple[int, int], expected: set[str]
) -> None:
    links = LinkIndex()
    t = 100.0
    for member in (
        _member("root", "svc", 101.0, None),
        _member("peer", "svc", 99.0, (1, 0, 5.0, "x")),
        _member("far-hops", "svc", 102.0, (0, 2, 0.1, "x")),
        _member("tight", "svc", 100.5, (0, 1, 0.1, "x")),  # 0.5 s from t, linked at 0.1 s
        _member("loose", "svc", 100.5, (0, 1, 60.0, "x")),  # 0.5 s from t, linked at 60 s
        _member("far-late", "svc", 98.0, (2, 3, 1.0, "x")),
        _member("other", "other-svc", 100.0, None),  # another service
    ):
        links.put(member)
    # For a peer offer (tier 1) only unexplained alerts are eligible (peers adopt roots).
    roots_only = offer == (1, 0)
    taken = set(links.could_take("svc", offer, t, 90.0, 110.0, roots_only=roots_only))
    if roots_only:
        expected = {"root"}
    assert taken == expected


def test_link_index_follows_relinks_and_drops() -> None:
    links = LinkIndex()
    member = _member("a", "svc", 10.0, None)
    links.relinked(member)  # not indexed yet: nothing happens
    assert links.could_take("svc", (0, 1), 10.0, 0.0, 20.0) == []
    links.put(member)
    assert links.could_take("svc", (0, 1), 10.0, 0.0, 20.0) == ["a"]
    member.parent_rank = (0, 1, 0.0, "p")  # now explained at offset 0
    links.relinked(member)
    assert links.could_take("svc", (0, 1), 10.5, 0.0, 20.0) == []
    assert links.could_take("svc", (0, 1), 10.0, 0.0, 20.0) == ["a"]  # a tie on offset
    namesake = _member("a", "svc", 11.0, None)  # same fingerprint, another lifecycle
    links.drop(namesake)
    assert links.could_take("svc", (0, 1), 10.0, 0.0, 20.0) == ["a"]
    links.drop(member)
    assert links.could_take("svc", (0, 1), 10.0, 0.0, 20.0) == []
