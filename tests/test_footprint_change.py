from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from geomon.classify.classes import BARE_DISTURBED as B
from geomon.classify.classes import BUILT_OTHER as O
from geomon.classify.classes import CLASS_NAMES
from geomon.classify.classes import CLOUD_NODATA as C
from geomon.classify.classes import VEGETATION as V
from geomon.classify.classes import WATER as W
from geomon.errors import ConfigError
from geomon.footprint.change import (
    NEW,
    NONE,
    PERSISTING,
    REHABILITATED,
    ChangeOptions,
    awaiting_confirmation,
    confirmed_runs,
    mine_water,
    track_change,
)


def _series(*codes: int) -> np.ndarray:
    return np.asarray(codes, np.uint8)[:, None, None]


def _status(*codes: int, counts: tuple[int, ...] | None = None, **kw: Any) -> list[int]:
    cc = None if counts is None else np.asarray(counts)[:, None, None]
    return track_change(_series(*codes), cc, ChangeOptions(**kw)).status[:, 0, 0].tolist()


def test_one_off_bare_period_raises_nothing() -> None:
    # a cloud shadow or wet field classified bare once, between vegetated periods
    assert _status(V, V, B, V, V) == [NONE] * 5
    assert _status(V, B, C, V, V) == [NONE] * 5  # cloud after does not confirm it


def test_new_disturbance_needs_two_clear_periods_and_skips_clouds() -> None:
    assert _status(V, V, B, B, B) == [NONE, NONE, NEW, PERSISTING, PERSISTING]
    assert _status(V, B, C, B, V) == [NONE, NEW, PERSISTING, PERSISTING, PERSISTING]
    assert _status(V, B, B, B, persistence=3) == [NONE, NEW, PERSISTING, PERSISTING]
    assert _status(V, B, B, V, persistence=3) == [NONE] * 4


def test_first_seen_and_baseline() -> None:
    change = track_change(_series(C, W, V, B, B))
    assert change.first_seen[0, 0] == 3
    assert change.baseline_index[0, 0] == 1 and change.baseline_class[0, 0] == W


def test_disturbed_at_baseline_is_persisting_not_new() -> None:
    assert _status(B, B, B) == [PERSISTING] * 3
    # never seen undisturbed before (cloudy baseline): persisting from first view
    assert _status(C, B, B) == [NONE, PERSISTING, PERSISTING]


def test_onset_is_new_only_after_a_sure_undisturbed_view() -> None:
    codes = _series(O, B, B)  # a waste dump the baseline called built_other at 0.6
    prob = np.asarray([0.6, 0.95, 0.95], np.float32)[:, None, None]

    def status(**kw: Any) -> list[int]:
        return track_change(codes, None, ChangeOptions(**kw), prob).status[:, 0, 0].tolist()

    assert status() == [NONE, NEW, PERSISTING]
    assert status(undisturbed_min_probability=0.8) == [NONE, PERSISTING, PERSISTING]
    assert status(undisturbed_min_probability=0.6) == [NONE, NEW, PERSISTING]  # at the threshold
    # a sure view in any earlier period will do; without probabilities the option does nothing
    sure_later = np.asarray([0.6, 0.9, 0.95, 0.95], np.float32)[:, None, None]
    got = track_change(_series(O, V, B, B), None, ChangeOptions(undisturbed_min_probability=0.8),
                       sure_later).status[:, 0, 0].tolist()  # fmt: skip
    assert got == [NONE, NONE, NEW, PERSISTING]
    assert _status(O, B, B, undisturbed_min_probability=0.8) == [NONE, NEW, PERSISTING]
    assert ChangeOptions(undisturbed_min_probability=np.float32(0.5))  # type: ignore[arg-type]
    for bad in (1.5, -0.1, float("nan"), "0.8", True):
        with pytest.raises(ConfigError, match="undisturbed_min_probability"):
            ChangeOptions(undisturbed_min_probability=bad)  # type: ignore[arg-type]


def test_rehabilitation_needs_persistent_vegetation() -> None:
    assert _status(V, B, B, V, V, V) == [
        NONE,
        NEW,
        PERSISTING,
        REHABILITATED,
        REHABILITATED,
        REHABILITATED,
    ]
    assert _status(V, B, B, V, B, B) == [NONE, NEW, PERSISTING, PERSISTING, PERSISTING, PERSISTING]


def test_flooded_pit_stays_in_the_footprint() -> None:
    assert _status(V, B, B, W, W, O) == [NONE, NEW] + [PERSISTING] * 4


def test_re_disturbed_land_keeps_first_seen() -> None:
    change = track_change(_series(V, B, B, V, V, B, B))
    assert change.status[:, 0, 0].tolist() == [
        NONE,
        NEW,
        PERSISTING,
        REHABILITATED,
        REHABILITATED,
        PERSISTING,
        PERSISTING,
    ]
    assert change.first_seen[0, 0] == 1


def test_tail_run_needs_enough_clear_observations() -> None:
    # last period bare: unconfirmed unless its composite rests on >= 3 clear observations
    assert _status(V, V, B, counts=(5, 5, 2)) == [NONE, NONE, NONE]
    assert _status(V, V, B, counts=(5, 5, 4)) == [NONE, NONE, NEW]
    assert _status(V, V, B, counts=(5, 5, 4), tail_min_clear=0) == [NONE, NONE, NONE]
    assert _status(V, V, B) == [NONE, NONE, NONE]  # no clear_count: always wait


def test_tail_min_clear_comes_from_the_model_where_a_run_sets_none() -> None:
    """``tail_min_clear`` left to the model (None) is 3 unless the model's rules carry one; a
    number the run gives wins; a count that is not whole is refused in one line."""
    assert ChangeOptions().tail_clear == 3
    assert ChangeOptions().resolved({"tail_min_clear": 2}).tail_min_clear == 2
    assert ChangeOptions(tail_min_clear=3).resolved({"tail_min_clear": 2}).tail_min_clear == 3
    assert _status(V, V, B, counts=(5, 5, 2)) == [NONE, NONE, NONE]
    two = ChangeOptions().resolved({"tail_min_clear": 2, "tail_min_probability": 0.8})
    codes = _series(V, V, B)
    counts = np.asarray((5, 5, 2), np.int16)[:, None, None]
    assert track_change(codes, counts, two).status[:, 0, 0].tolist() == [NONE, NONE, NEW]
    for bad in (2.5, True, -1, "2", 367, 10**6):
        with pytest.raises(
            ConfigError, match=r"tail_min_clear .* whole number from 0 to 366"
        ) as caught:
            ChangeOptions(tail_min_clear=bad)  # type: ignore[arg-type]
        assert "\n" not in str(caught.value)


def test_tail_threshold_below_min_probability_confirms_only_at_the_end() -> None:
    def status(*probs: float, **kw: Any) -> list[int]:
        p = np.asarray(probs, np.float32)[:, None, None]
        cc = np.full((len(probs), 1, 1), 5)
        series = _series(V, V, B, B)
        return track_change(series, cc, ChangeOptions(**kw), p).status[:, 0, 0].tolist()

    # two bare periods at 0.6, the last one and the one before: the persistence rule (0.8)
    # counts neither; a tail threshold of 0.5 confirms the run that reaches the end
    assert status(0.9, 0.9, 0.6, 0.6) == [NONE] * 4
    assert status(0.9, 0.9, 0.6, 0.6, tail_min_probability=0.5) == [NONE, NONE, NEW, PERSISTING]
    assert status(0.9, 0.9, 0.6, 0.4, tail_min_probability=0.5) == [NONE] * 4  # all of the run
    # a sure period then an unsure one at the end: the tail run is both (the first alone is
    # not persistent); at or above min_probability the threshold only adds a condition
    assert status(0.9, 0.9, 0.9, 0.6) == [NONE] * 4
    assert status(0.9, 0.9, 0.9, 0.6, tail_min_probability=0.5) == [NONE, NONE, NEW, PERSISTING]
    assert status(0.9, 0.9, 0.9, 0.9, tail_min_probability=0.95) == [NONE, NONE, NEW, PERSISTING]
    # above min_probability the threshold is a further condition on a lone last period
    last = track_change(_series(V, V, V, B), np.full((4, 1, 1), 5),
                        ChangeOptions(tail_min_probability=0.95),
                        np.full((4, 1, 1), 0.9, np.float32))  # fmt: skip
    assert last.status[:, 0, 0].tolist() == [NONE] * 4
    assert status(0.9, 0.9, 0.9, 0.9) == [NONE, NONE, NEW, PERSISTING]
    # an unsure period inside the series is never confirmed by the tail threshold
    inner = track_change(_series(V, B, B, V), np.full((4, 1, 1), 5),
                         ChangeOptions(tail_min_probability=0.5),
                         np.asarray([0.9, 0.6, 0.6, 0.9], np.float32)[:, None, None])  # fmt: skip
    assert inner.status[:, 0, 0].tolist() == [NONE] * 4


def test_tail_rule_may_be_kept_to_bare_ground() -> None:
    # a plant on cleared bush seen in the last period only: confirmed at once where the tail
    # rule may confirm built_other (the default since stop 31), else it waits for a second
    # clear period; a new pond and bare ground are confirmed at once (a lone pixel: no mine
    # ground within built_reach_m, which is off here)
    off = {"built_reach_m": 0.0}
    assert _status(V, V, O, counts=(5, 5, 4), **off) == [NONE, NONE, NEW]
    assert _status(V, V, W, counts=(5, 5, 4), **off) == [NONE, NONE, NEW]
    both = ("water", "built_other")
    assert ChangeOptions().tail_conversions == both
    assert _status(V, V, O, counts=(5, 5, 4), tail_conversions=both, **off) == [NONE, NONE, NEW]
    assert _status(V, V, O, counts=(5, 5, 4), tail_conversions=(), **off) == [NONE, NONE, NONE]
    assert _status(V, V, O, counts=(5, 5, 4), tail_conversions=("water",), **off) == [NONE] * 3
    water = ("water",)
    assert _status(V, V, W, counts=(5, 5, 4), tail_conversions=water, **off) == [NONE, NONE, NEW]
    assert _status(V, V, B, counts=(5, 5, 4), tail_conversions=(), **off) == [NONE, NONE, NEW]
    assert _status(V, O, O, counts=(5, 5, 4), tail_conversions=(), **off) == [NONE, NEW, PERSISTING]
    # by default a built_other pixel with no bare_disturbed ground near it is undisturbed land
    assert _status(V, V, O, counts=(5, 5, 4)) == [NONE] * 3
    assert _status(V, O, O, counts=(5, 5, 4)) == [NONE] * 3
    with pytest.raises(ConfigError, match=r"tail_conversions: .*bare_disturbed always counts"):
        ChangeOptions(tail_conversions=("bare_disturbed",))
    with pytest.raises(ConfigError, match="tuple of class names"):
        ChangeOptions(tail_conversions="water")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="tuple of class names"):
        ChangeOptions(conversions=None)  # type: ignore[arg-type]
    assert ChangeOptions(tail_conversions=["water"]).tail_conversions == ("water",)  # type: ignore[arg-type]


def test_vectorised_over_pixels() -> None:
    codes = np.stack([_series(V, V, B, V, V)[:, 0, 0], _series(V, V, B, B, B)[:, 0, 0]], axis=1)
    status = track_change(codes[:, :, None]).status
    assert status[:, 0, 0].tolist() == [NONE] * 5
    assert status[:, 1, 0].tolist() == [NONE, NONE, NEW, PERSISTING, PERSISTING]


def test_bad_options() -> None:
    with pytest.raises(ConfigError, match="persistence"):
        ChangeOptions(persistence=0)
    with pytest.raises(ConfigError, match="time, y, x"):
        track_change(np.zeros((3, 3), np.uint8))


def test_ponds_and_plant_replacing_other_land_are_disturbance() -> None:
    assert _status(O, O, W, W) == [NONE, NONE, NEW, PERSISTING]  # evaporation pond on a salt flat
    # plant on cleared bush (with no mine ground near, only where built_reach_m is off)
    assert _status(V, O, O, built_reach_m=0.0) == [NONE, NEW, PERSISTING]
    assert _status(W, W, W, W) == [NONE] * 4  # a natural lake stays a lake
    assert _status(O, O, O) == [NONE] * 3  # natural rock or a town at baseline
    assert _status(V, V, W, W, conversions=()) == [NONE] * 4
    with pytest.raises(ConfigError, match="conversion"):
        ChangeOptions(conversions=("vegetation",))


def _grid(rows: str) -> np.ndarray:
    """A class raster from one letter per pixel: v vegetation, b bare_disturbed, w water,
    o built_other, c cloud_nodata."""
    code = {"v": V, "b": B, "w": W, "o": O, "c": C}
    return np.array([[code[ch] for ch in row] for row in rows.split()], np.uint8)


def test_mine_water_is_water_edged_by_mine_ground() -> None:
    base = _grid(
        """
        vvvvvvvv
        vbbbbvvv
        vbwwbvww
        vbwwbvww
        vbbbbvbw
        vvvvvvvv
        """
    )
    mine = mine_water(base, 0.5)
    pond = base == W
    pond[:, 5:] = False
    np.testing.assert_array_equal(mine, pond)  # the enclosed pond; not the lake the mine touches
    assert mine_water(base, 0.2)[2:5, 6:].sum() == 5  # 2 of the lake's 7 edge pairs are bare
    assert not mine_water(base, 0.0).any()  # 0: the rule is off
    assert not mine_water(np.where(base == B, V, base).astype(np.uint8), 0.5).any()
    cloudy = base.copy()
    cloudy[1, 1:5] = C  # unseen edges do not count for or against
    np.testing.assert_array_equal(mine_water(cloudy, 0.5), pond)


def _mine_water_reference(base: np.ndarray, share: float) -> np.ndarray:
    """:func:`mine_water` with scipy's 4-connected labels and whole-raster edge counts."""
    from scipy import ndimage

    labels, n = ndimage.label(base == W)
    edge, bare = np.zeros(n + 1), np.zeros(n + 1)
    for a, b in (
        (np.s_[:, :-1], np.s_[:, 1:]),
        (np.s_[:, 1:], np.s_[:, :-1]),
        (np.s_[:-1, :], np.s_[1:, :]),
        (np.s_[1:, :], np.s_[:-1, :]),
    ):
        body, other = labels[a], base[b]
        pair = (body > 0) & (other != W) & (other != C)
        edge += np.bincount(body[pair], minlength=n + 1)
        bare += np.bincount(body[pair], weights=other[pair] == B, minlength=n + 1)
    keep = (edge > 0) & (bare >= share * edge)
    keep[0] = False
    return keep[labels]


@pytest.mark.parametrize("seed", range(4))
def test_compiled_mine_water_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    base = rng.choice(np.arange(5, dtype=np.uint8), size=(60, 70), p=[0.1, 0.3, 0.2, 0.3, 0.1])
    for share in (0.2, 0.5, 0.8):
        np.testing.assert_array_equal(mine_water(base, share), _mine_water_reference(base, share))
    assert mine_water(base, 0.5).any() and not mine_water(base, 0.5).all()


def test_a_tailings_pond_dug_later_is_not_new() -> None:
    """A pond inside the mine at the baseline that dries to a beach or is dug into a pit is mine
    ground all along (persisting from the baseline); a lake outside it that the mine fills is
    new disturbance."""
    base = _grid(
        """
        vbbbbvvvv
        vbwwbvwwv
        vbwwbvwwv
        vbbbbvvvv
        """
    )
    codes = np.stack([base, base, base]).copy()
    codes[1:][:, base == W] = B  # both water bodies dug in periods 1 and 2
    got = track_change(codes)
    assert (got.status[:, 1:3, 2:4] == PERSISTING).all() and (got.first_seen[1:3, 2:4] == 0).all()
    assert (got.baseline_class[1:3, 2:4] == W).all()  # the baseline class is still water
    assert got.status[:, 1:3, 6:8].tolist() == [
        [[NONE] * 2] * 2,
        [[NEW] * 2] * 2,
        [[PERSISTING] * 2] * 2,
    ]
    off = track_change(codes, options=ChangeOptions(mine_water_share=0.0))
    assert (off.status[1, 1:3, 2:4] == NEW).all()
    with pytest.raises(ConfigError, match="mine_water_share"):
        ChangeOptions(mine_water_share=1.5)


def _reference(
    codes: np.ndarray,
    clear_count: np.ndarray | None,
    options: ChangeOptions,
    probability: np.ndarray | None,
) -> tuple[np.ndarray, ...]:
    """The rules written as whole-raster numpy (geomon's implementation before the compiled
    kernel): confirmed runs, then a forward pass over periods."""
    clear = codes != C
    first_clear = np.argmax(clear, axis=0)
    base_cls = np.where(
        clear.any(axis=0), np.take_along_axis(codes, first_clear[None], axis=0)[0], C
    ).astype(np.uint8)
    hit = codes == B
    for name in options.conversions:
        code = CLASS_NAMES.index(name)
        hit |= (codes == code) & (base_cls[None] != code)
    sure = hit
    if probability is not None and options.min_probability > 0:
        sure = hit & (probability >= options.min_probability)
    tail = sure
    if probability is not None and options.tail_p > 0:
        tail = hit & (probability >= options.tail_p)
    early = codes == B
    for name in options.tail_conversions:
        early |= codes == CLASS_NAMES.index(name)
    tail = tail & early
    bare_ok = confirmed_runs(sure, clear, clear_count, options, tail)
    veg_ok = confirmed_runs(codes == V, clear, clear_count, options)
    mine = mine_water(base_cls, options.mine_water_share)
    shape = codes.shape[1:]
    disturbed, rehab, seen = np.zeros(shape, bool), np.zeros(shape, bool), np.zeros(shape, bool)
    first = np.full(shape, -1, np.int16)
    base_idx = np.full(shape, -1, np.int16)
    status = np.zeros(codes.shape, np.uint8)
    for t in range(codes.shape[0]):
        base_idx[clear[t] & (base_idx < 0)] = t
        onset = (bare_ok[t] | (mine & (base_idx == t))) & ~disturbed
        is_new = onset & (first < 0) & seen
        first = np.where(onset & (first < 0), np.int16(t), first)
        disturbed |= onset
        rehab &= ~onset
        healed = veg_ok[t] & disturbed
        rehab |= healed
        disturbed &= ~healed
        sure_view = True
        if probability is not None and options.undisturbed_min_probability > 0:
            sure_view = probability[t] >= options.undisturbed_min_probability
        seen |= clear[t] & ~hit[t] & ~disturbed & ~rehab & sure_view
        status[t] = np.where(
            disturbed, np.where(is_new, NEW, PERSISTING), np.where(rehab, REHABILITATED, NONE)
        )
    return status, first, base_idx, base_cls


TAIL_SETS = (("water", "built_other"), ("water",), ("built_other",), ())


def _random_case(
    seed: int, tail_conversions: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray | None, ChangeOptions, np.ndarray | None]:
    """Random class series, clear counts (odd seeds), probabilities (seeds not divisible by 3)
    and options; with counts, persistence 2-3 and tail_min_clear 1-3, so the tail rule runs."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 8))
    codes = rng.choice(np.arange(5, dtype=np.uint8), size=(n, 40, 30), p=[0.2, 0.3, 0.3, 0.1, 0.1])
    counts = rng.integers(0, 6, codes.shape).astype(np.int16) if seed % 2 else None
    prob = rng.random(codes.shape, dtype=np.float32) if seed % 3 else None
    if prob is not None:
        prob[0, 0, :3] = np.float32(0.7)  # exactly on the threshold
    low = 2 if counts is not None else 1
    options = ChangeOptions(
        persistence=int(rng.integers(low, 4)),
        tail_min_clear=int(rng.integers(low - 1, 4)),
        tail_min_probability=0.5 if seed % 4 == 1 else 0.0,
        undisturbed_min_probability=0.6 if seed % 5 in (1, 2) else 0.0,
        conversions=(("water", "built_other"), ("water",), ())[seed % 3],
        tail_conversions=tail_conversions,
    )
    return codes, counts, options, prob


@pytest.mark.parametrize("tail_conversions", TAIL_SETS)
@pytest.mark.parametrize("seed", range(6))
def test_compiled_change_matches_the_numpy_rules(
    seed: int, tail_conversions: tuple[str, ...]
) -> None:
    codes, counts, options, prob = _random_case(seed, tail_conversions)
    got = track_change(codes, counts, options, prob)
    expected = _reference(codes, counts, options, prob)
    for a, b in zip(
        (got.status, got.first_seen, got.baseline_index, got.baseline_class), expected, strict=True
    ):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", [1, 7])
def test_random_cases_reach_the_tail_rule(seed: int) -> None:
    # the comparison above covers tail_conversions only if it changes these cases' results
    both = track_change(*_random_case(seed, TAIL_SETS[0])).status
    none = track_change(*_random_case(seed, ())).status
    assert (both != none).any()


def test_random_cases_reach_mine_water() -> None:
    # the comparison above covers the mine-water rule only if it changes some case's result
    changed = 0
    for seed in range(6):
        codes, counts, options, prob = _random_case(seed, TAIL_SETS[0])
        off = replace(options, mine_water_share=0.0)
        a, b = track_change(codes, counts, options, prob), track_change(codes, counts, off, prob)
        changed += int((a.status != b.status).sum())
    assert changed > 0


def test_compiled_change_in_row_bands_matches_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    import geomon.footprint.change as change

    rng = np.random.default_rng(7)
    codes = rng.choice(np.arange(5, dtype=np.uint8), size=(4, 700, 9))
    counts = rng.integers(0, 6, codes.shape).astype(np.int16)
    prob = rng.random(codes.shape, dtype=np.float32)
    monkeypatch.setattr(change.os, "cpu_count", lambda: 3)
    assert len(change._row_bands(700)) == 2
    banded = track_change(codes, counts, ChangeOptions(), prob)
    expected = _reference(codes, counts, ChangeOptions(), prob)
    for a, b in zip(
        (banded.status, banded.first_seen, banded.baseline_index, banded.baseline_class),
        expected,
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)


def _awaiting_reference(
    codes: np.ndarray, options: ChangeOptions, probability: np.ndarray | None
) -> np.ndarray:
    """:func:`awaiting_confirmation` as whole-raster numpy: outside the footprint at the last
    period, the latest clear view a sure hit, an earlier clear view a sure non-hit."""
    change = track_change(codes, None, options, probability)
    clear = codes != C
    base = change.baseline_class
    hit = codes == B
    for name in options.conversions:
        code = CLASS_NAMES.index(name)
        hit |= (codes == code) & (base[None] != code)
    n = codes.shape[0]
    last = n - 1 - np.argmax(clear[::-1], axis=0)
    at_last = np.arange(n)[:, None, None] == last[None]
    sure = np.ones(codes.shape, bool)
    calm = np.ones(codes.shape, bool)
    if probability is not None:
        sure = probability >= np.float32(options.min_probability)
        if options.undisturbed_min_probability > 0:  # 0: any view, NaN included
            calm = probability >= np.float32(options.undisturbed_min_probability)
    ok = (at_last & hit & sure).any(axis=0) & clear.any(axis=0)
    earlier = (np.arange(n)[:, None, None] < last[None]) & clear & ~hit & calm
    return np.flatnonzero(ok & earlier.any(axis=0) & (change.status[-1] == NONE))


def _awaiting_case(seed: int) -> tuple[np.ndarray, ChangeOptions, np.ndarray | None]:
    codes, _, options, prob = _random_case(seed, ("water",))
    if prob is not None:
        prob[prob < 0.05] = np.nan  # NaN is never sure
    options = ChangeOptions(
        persistence=options.persistence,
        conversions=options.conversions,
        undisturbed_min_probability=0.3 if seed % 2 else 0.0,
    )
    return codes, options, prob


@pytest.mark.parametrize("seed", range(8))
def test_awaiting_confirmation_matches_numpy(seed: int) -> None:
    codes, options, prob = _awaiting_case(seed)
    got = awaiting_confirmation(codes, track_change(codes, None, options, prob), options, prob)
    np.testing.assert_array_equal(got, _awaiting_reference(codes, options, prob))


def test_random_cases_reach_awaiting_confirmation() -> None:
    sizes = [_awaiting_reference(*_awaiting_case(seed)).size for seed in range(8)]
    assert sum(s > 0 for s in sizes) >= 4, sizes


def test_awaiting_confirmation_needs_an_earlier_undisturbed_view() -> None:
    def awaiting(*codes: int) -> bool:
        series = _series(*codes)
        return bool(awaiting_confirmation(series, track_change(series)).size)

    assert awaiting(V, V, B)  # the next period confirms it or clears it
    assert awaiting(V, B, C)  # its latest clear view is bare
    assert not awaiting(B)  # disturbed at its first view: persisting, if anything
    assert not awaiting(C, B)
    assert not awaiting(V, B, B)  # confirmed: in the footprint
    assert not awaiting(V, B, V)
    assert awaiting(O, W) and not awaiting(W, W)  # a conversion counts; its own baseline not


def test_built_other_counts_only_within_reach_of_bare_ground() -> None:
    """A plant beside the pit is new disturbance; a field far from any bare_disturbed pixel
    that comes out built_other for two periods is not (built_reach_m, stop 31), and its
    baseline class is reported as it was."""
    base = _grid(
        """
        vvvvvvvvvvvv
        vbbvvvvvvvvv
        vbbvvvvvvvvv
        vvvvvvvvvvvv
        """
    )
    codes = np.stack([base, base, base]).copy()
    codes[1:, 1:3, 3] = O  # next to the pit (column 3: one pixel from it)
    codes[1:, 1:3, 10] = O  # eight pixels away
    codes[:, 3, 11] = O  # built_other from the baseline on, far: unchanged land as before
    options = ChangeOptions(built_reach_m=30.0)
    got = track_change(codes, options=options, pixel_m=10.0)
    assert got.status[:, 1, 3].tolist() == [NONE, NEW, PERSISTING]
    assert got.status[:, 1, 10].tolist() == [NONE] * 3
    assert got.status[:, 3, 11].tolist() == [NONE] * 3 and got.baseline_class[3, 11] == O
    assert ChangeOptions().built_reach_m == 30.0  # the default since stop 31
    default = track_change(codes, pixel_m=10.0)
    np.testing.assert_array_equal(default.status, got.status)
    off = track_change(codes, options=ChangeOptions(built_reach_m=0.0), pixel_m=10.0)
    assert off.status[:, 1, 10].tolist() == [NONE, NEW, PERSISTING]
    # within reach at 10 m pixels is beyond it at 1 m pixels (3 px) or 100 m pixels (0 px)
    assert track_change(codes, options=options, pixel_m=1.0).status[1, 1, 10] == NEW
    assert track_change(codes, options=options, pixel_m=100.0).status[1, 1, 3] == NONE
    assert track_change(codes, options=options, pixel_m=100.0).status[1, 1, 10] == NONE
    # awaiting confirmation reads the same rule: only the plant beside the pit waits
    last = codes[:2].copy()
    waiting = awaiting_confirmation(last, track_change(last, options=options), options)
    assert sorted(waiting.tolist()) == [1 * 12 + 3, 2 * 12 + 3]
    unchanged = ChangeOptions(built_reach_m=30.0, conversions=("water",))
    np.testing.assert_array_equal(
        track_change(codes, options=unchanged).status,
        track_change(codes, options=replace(unchanged, built_reach_m=0.0)).status,
    )
    for bad in (-1.0, float("nan"), "50", True):
        with pytest.raises(ConfigError, match="built_reach_m"):
            ChangeOptions(built_reach_m=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="pixel size"):
        track_change(codes, options=options, pixel_m=0.0)


def test_pixel_metres_of_projected_and_geographic_grids() -> None:
    from affine import Affine

    from geomon.footprint import pixel_metres

    assert pixel_metres("EPSG:32735", Affine(10, 0, 500_000, 0, -10, 8_800_000), (4, 4)) == 10
    feet = pixel_metres("EPSG:2227", Affine(100, 0, 6e6, 0, -100, 2e6), (4, 4))  # US feet
    assert feet == pytest.approx(30.48, rel=1e-5)
    # 0.0001 degree near Kolwezi (10.7 S): about 11.06 m north, 10.93 m east
    deg = pixel_metres("EPSG:4326", Affine(1e-4, 0, 25.4, 0, -1e-4, -10.7), (100, 100))
    assert deg == pytest.approx(11.0, abs=0.1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reach_codes_match_a_square_dilation(seed: int) -> None:
    """The compiled running-count passes against scipy's maximum filter (zero beyond the
    edges), on random grids, reaches and pixel sizes."""
    from scipy import ndimage

    from geomon.footprint.change import FAR_BUILT, reach_codes

    rng = np.random.default_rng(seed)
    for shape, reach_m, pixel_m in (((3, 40, 37), 30.0, 10.0), ((1, 9, 64), 95.0, 30.0),
                                    ((2, 5, 3), 0.5, 10.0), ((2, 50, 50), 500.0, 10.0)):  # fmt: skip
        codes = rng.choice(np.array([C, V, B, W, O], np.uint8), size=shape,
                           p=[0.1, 0.6, 0.03, 0.07, 0.2])  # fmt: skip
        got = reach_codes(codes, ChangeOptions(built_reach_m=reach_m), pixel_m)
        r = int(reach_m // pixel_m)
        near = ndimage.maximum_filter((codes == B).any(axis=0), size=2 * r + 1, mode="constant")
        want = np.where((codes == O) & ~near, FAR_BUILT, codes)
        np.testing.assert_array_equal(got, want)


def test_rules_left_to_the_model_take_its_own_else_the_default() -> None:
    from geomon.footprint.change import TAIL_MIN_PROBABILITY

    left = ChangeOptions()
    assert left.tail_min_probability is None
    assert left.resolved().tail_min_probability == TAIL_MIN_PROBABILITY == 0.8
    assert left.resolved({"tail_min_probability": 0.7}).tail_min_probability == 0.7
    given = ChangeOptions(tail_min_probability=0.9)  # a rule given is kept
    assert given.resolved({"tail_min_probability": 0.7}) == replace(given, tail_min_clear=3)
    with pytest.raises(ConfigError, match="not one a model may carry"):
        left.resolved({"min_mapping_unit_ha": 1.0})
    with pytest.raises(ConfigError, match="between 0 and 1"):
        left.resolved({"tail_min_probability": 2.0})
    # left to a model without one, the kernels use the default: the same statuses as 0.8
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 5, (5, 40, 40)).astype(np.uint8)
    counts = rng.integers(0, 6, codes.shape).astype(np.int16)
    prob = rng.uniform(0.3, 1.0, codes.shape).astype(np.float32)
    a = track_change(codes, counts, left, prob).status
    b = track_change(codes, counts, ChangeOptions(tail_min_probability=0.8), prob).status
    c = track_change(codes, counts, ChangeOptions(tail_min_probability=0.5), prob).status
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()  # the random series do reach the tail rule
