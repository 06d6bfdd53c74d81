"""The Theory chapter's experiment: the check table, the ideal and tie curves, the live speed table."""

import numpy as np
import pytest

from knnoise.book import parameters
from knnoise.experiments import theorem_checks

VALUES = {
    "n_labels": 4, "ks": [1, 5, 11], "even_ks": [2, 4], "n_gammas": 11, "mc_samples": 2000,
    "speed_rows": 5, "speed_k": 7, "seed": 0,
}  # fmt: skip
PARAMS = parameters("theory", **VALUES)


@pytest.fixture(scope="module")
def checks():
    return theorem_checks.exactness(PARAMS)


def test_check_table_agrees_with_brute_force_and_monte_carlo(checks):
    assert len(checks) == 6 * 3
    assert list(checks.ties[:3]) == ["strict", "random", "lowest"]
    small = checks[checks.L <= 5]
    assert small["|solver - brute|"].max() < 1e-12
    assert checks[checks.L >= 100]["brute force"].isna().all()
    assert checks["|solver - MC| / se"].max() < 6


def test_check_problems_are_drawn_in_a_fixed_order():
    first = theorem_checks.check_problems(np.random.default_rng(3))
    again = theorem_checks.check_problems(np.random.default_rng(3))
    assert [(n, k, brute) for n, k, _, _, brute in first] == [(n, k, b) for n, k, _, _, b in again]
    assert [p[:2] for p in first] == theorem_checks.SMALL + theorem_checks.LARGE
    for (_, _, q, label, _), (_, _, q2, _, _) in zip(first, again, strict=True):
        assert np.array_equal(q, q2) and label == int(np.argmax(q))


def test_ideal_curves_cross_one_half_where_the_paper_says():
    gammas = theorem_checks.noise_axis(41)
    curves = theorem_checks.ideal_curves(10, gammas, [1, 51])
    assert set(curves) == {"uniform noise", "flip noise"}
    assert curves["flip noise"].shape == (41, 2)
    crossing = theorem_checks.crossings(gammas, curves, [1, 51])
    assert list(crossing.index) == ["K = 1", "K = 51"]
    assert crossing.iloc[1, 1] == pytest.approx(0.525)  # flip noise breaks just above 1/2
    assert crossing.iloc[1, 0] > 0.9  # uniform noise is resisted up to ~90%
    # K = 1 copies one neighbour: its accuracy is q_i = 1 - gamma (L-1)/L under uniform noise
    np.testing.assert_allclose(curves["uniform noise"][:, 0], 1 - gammas * 0.9, atol=1e-12)


def test_tie_rules_differ_only_for_even_k():
    gammas = theorem_checks.noise_axis(11)
    curves = theorem_checks.tie_curves(4, gammas, [2])
    assert set(curves["flip noise"]) == {"strict", "random", "lowest"}
    flip = curves["flip noise"]
    assert np.all(flip["random"] >= flip["strict"] - 1e-12)
    assert theorem_checks.tie_gap(curves) > 0.1  # at gamma = 1/2 and K = 2 half the votes are exact splits


def test_speed_table_and_claims(checks):
    timing = theorem_checks.speed(PARAMS)
    assert list(timing.table.index) == ["plain Eq. 4, K = 7", "solver, K = 7", "solver, every K = 1..7"]
    assert (timing.table["seconds"] > 0).all() and timing.max_difference < 1e-12
    assert timing.speedup_one == pytest.approx(timing.table["vs plain Eq. 4 (one K)"].iloc[1])
    gammas = theorem_checks.noise_axis(PARAMS.n_gammas)
    crossing = theorem_checks.crossings(gammas, theorem_checks.ideal_curves(4, gammas, PARAMS.ks), PARAMS.ks)
    ideal, fast = theorem_checks.claims(checks, crossing, timing, 4, PARAMS.ks)
    assert ideal[2].startswith("one-hot neighbourhoods, L = 4, K = 11: accuracy first below 0.5 at γ = ")
    assert fast[2].startswith(f"exact to {checks['|solver - brute|'].max():.0e} against enumeration; K = 7: ")
    assert fast[2].endswith(f"all K = 1..7 at once: {timing.speedup_all:.0f}x")
