"""Invariants of the indexes that keep placing an alert cheap in a storm."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from correlator.state import LinkIndex, Member, TimeIndex

times = st.integers(min_value=0, max_value=40).map(lambda n: n / 4)  # many exact ties
ranks = st.none() | st.tuples(
    st.integers(0, 4), st.integers(0, 3), times, st.sampled_from(["p", "q"])
)


@given(
    entries=st.lists(times, max_size=30),
    t=times,
    lo=times,
    width=st.integers(0, 40).map(lambda n: n / 4),
)
def test_outward_yields_the_whole_window_closest_first(
    entries: list[float], t: float, lo: float, width: float
) -> None:
    index = TimeIndex()
    for i, when in enumerate(entries):
        index.add(when, f"f{i}")
    hi = lo + width
    walked = list(index.outward(t, lo, hi))
    offsets = [offset for offset, _ in walked]
    assert offsets == sorted(offsets)
    assert sorted(fp for _, fp in walked) == sorted(
        f"f{i}" for i, when in enumerate(entries) if lo <= when <= hi
    )
    assert all(offset == abs(entries[int(fp[1:])] - t) for offset, fp in walked)


@given(
    members=st.lists(st.tuples(times, ranks), max_size=25),
    offer=st.tuples(st.integers(0, 4), st.integers(0, 3)),
    t=times,
    roots_only=st.booleans(),
)
def test_link_index_never_misses_an_alert_an_offer_could_improve(
    members: list[tuple[float, tuple[int, int, float, str] | None]],
    offer: tuple[int, int],
    t: float,
    roots_only: bool,
) -> None:
    """Everything a link of class ``offer`` from time ``t`` could beat is returned."""
    links = LinkIndex()
    for i, (when, rank) in enumerate(members):
        member = Member()
        member.fingerprint, member.key, member.group_time, member.parent_rank = (
            f"f{i}", "svc", when, rank
        )
        links.put(member)
    lo, hi = t - 5.0, t + 5.0
    taken = set(links.could_take("svc", offer, t, lo, hi, roots_only=roots_only))
    for i, (when, rank) in enumerate(members):
        if not lo <= when <= hi:
            assert f"f{i}" not in taken
            continue
        if roots_only:
            assert (f"f{i}" in taken) == (rank is None)
            continue
        # The best rank the offer can give: the smallest parent fingerprint ("").
        could_beat = rank is None or (*offer, abs(when - t), "") < rank
        if could_beat:
            assert f"f{i}" in taken
