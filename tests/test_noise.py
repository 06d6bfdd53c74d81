"""Noise models: corruption matrices, exact corruption counts, concentration."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from knnoise import noise
from knnoise.data import load


@pytest.fixture(scope="module")
def mixture():
    ds = load("synthetic", n_classes=4, dim=2, n_train=2000, n_test=10, separation=8.0, seed=3)
    return ds.x_train, ds.y_train


def test_matrices_are_row_stochastic_with_the_papers_shapes():
    for P in (noise.uniform(5), noise.symmetric(5), noise.flip(5), noise.general(5, seed=1)):
        assert P.shape == (5, 5)
        np.testing.assert_allclose(P.sum(axis=1), 1.0)
        assert np.all(P >= 0)
    np.testing.assert_allclose(noise.uniform(4), 0.25)
    assert np.all(np.diag(noise.symmetric(4)) == 0)
    assert noise.flip(4)[3, 0] == 1.0 and noise.flip(4)[0, 1] == 1.0
    assert noise.flip(3, mapping=[2, 0, 1])[0, 2] == 1.0
    np.testing.assert_allclose(noise.general(6, seed=2), noise.general(6, seed=2))
    sharp, soft = noise.general(10, seed=0, sharpness=8), noise.general(10, seed=0, sharpness=1)
    assert sharp.max(axis=1).mean() > soft.max(axis=1).mean()
    np.testing.assert_allclose(noise.from_confusion([[3, 1], [0, 2]]), [[0.75, 0.25], [0, 1]])


@pytest.mark.parametrize("gamma", [0.0, 0.1, 0.37, 1.0])
def test_corrupt_selects_exactly_round_gamma_n(gamma):
    y = np.repeat(np.arange(10), 101)
    result = noise.corrupt(y, gamma, noise.uniform(10), seed=0)
    assert result.selected.sum() == round(gamma * y.size)
    assert np.all(result.labels[~result.selected] == y[~result.selected])
    assert result.selected_fraction == pytest.approx(round(gamma * y.size) / y.size)


def test_uniform_changes_gamma_times_l_minus_one_over_l():
    y = np.tile(np.arange(10), 5000)
    result = noise.corrupt(y, 0.6, noise.uniform(10), seed=1)
    assert result.changed_fraction == pytest.approx(0.6 * 9 / 10, abs=0.01)
    symmetric = noise.corrupt(y, 0.6, noise.symmetric(10), seed=1)
    assert symmetric.changed_fraction == pytest.approx(0.6, abs=1e-12)
    counts = np.bincount(result.labels[result.selected], minlength=10) / result.selected.sum()
    np.testing.assert_allclose(counts, 0.1, atol=0.01)


def test_flip_sends_every_selected_label_to_its_target():
    y = np.tile(np.arange(5), 200)
    result = noise.corrupt(y, 0.3, noise.flip(5), seed=2)
    assert np.all(result.labels[result.selected] == (y[result.selected] + 1) % 5)
    noisy, selected, _ = result  # unpacks like a tuple
    assert selected.sum() == 300


def test_same_seed_same_labels():
    y = np.tile(np.arange(7), 300)
    a = noise.corrupt(y, 0.4, noise.general(7), seed=5)
    b = noise.corrupt(y, 0.4, noise.general(7), seed=5)
    c = noise.corrupt(y, 0.4, noise.general(7), seed=6)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.labels, c.labels)


def _neighbour_corruption(x, selected, k=10):
    """Mean fraction of corrupted examples among the k nearest neighbours of corrupted examples."""
    _, idx = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x[selected])
    return selected[idx[:, 1:]].mean()


def test_concentrated_noise_concentrates_and_uniform_does_not(mixture):
    x, y = mixture
    conc = noise.concentrated(x, y, 0.25, seed=0)
    spread = noise.corrupt(y, conc.selected_fraction, noise.flip(4), seed=0)
    assert 0.15 < conc.selected_fraction < 0.4
    assert np.all(conc.labels[conc.selected] == (y[conc.selected] + 2) % 4)
    assert _neighbour_corruption(x, conc.selected) > 0.7
    assert _neighbour_corruption(x, spread.selected) < 0.4
    np.testing.assert_array_equal(conc.labels, noise.concentrated(x, y, 0.25, seed=0).labels)


def test_concentration_knob_keeps_gamma_and_raises_local_noise(mixture):
    x, y = mixture
    local = []
    for kappa in (0.0, 0.5, 1.0):
        result = noise.partially_concentrated(x, y, 0.3, kappa, seed=1)
        per_class = [result.selected[y == c].mean() for c in range(4)]
        np.testing.assert_allclose(per_class, 0.3, atol=0.002)
        assert np.all(result.labels[result.selected] == (y[result.selected] + 2) % 4)
        local.append(_neighbour_corruption(x, result.selected))
    assert local[0] < local[1] < local[2]
    assert local[2] > 0.8 and local[0] < 0.45


def test_seeds_and_generators():
    y = np.tile(np.arange(4), 200)
    np.testing.assert_array_equal(
        noise.corrupt(y, 0.4, noise.uniform(4), seed=np.random.default_rng(3)).labels,
        noise.corrupt(y, 0.4, noise.uniform(4), seed=np.random.default_rng(3)).labels,
    )
    np.testing.assert_array_equal(noise.general(5, seed=np.random.default_rng(2)), noise.general(5, seed=2))
    x = np.random.default_rng(0).normal(size=(y.size, 2))
    for fn in (
        lambda s: noise.concentrated(x, y, 0.25, seed=s),
        lambda s: noise.partially_concentrated(x, y, 0.25, 0.5, seed=s),
    ):
        np.testing.assert_array_equal(
            fn(np.random.default_rng(1)).labels, fn(np.random.default_rng(1)).labels
        )


def test_labels_and_embeddings_accepted_in_every_integer_and_float_form():
    y = np.tile(np.arange(3), 100)
    ref = noise.corrupt(y, 0.3, noise.uniform(3), seed=4)
    for alt in (y.astype(np.uint8), y.astype(np.float32), y.tolist()):
        res = noise.corrupt(alt, 0.3, noise.uniform(3), seed=4)
        assert res.labels.dtype == np.int64 and res.clean.dtype == np.int64
        np.testing.assert_array_equal(res.labels, ref.labels)
    # A float32 corruption matrix (rows sum to 1 only up to float32 rounding) is accepted.
    P = noise.general(3, seed=1)
    np.testing.assert_array_equal(
        noise.corrupt(y, 0.3, P.astype(np.float32), seed=4).selected,
        noise.corrupt(y, 0.3, P, seed=4).selected,
    )
    x = np.random.default_rng(0).normal(size=y.size)
    one_d = noise.concentrated(x, y, 0.2, seed=0)
    np.testing.assert_array_equal(one_d.labels, noise.concentrated(x[:, None], y, 0.2, seed=0).labels)
    # Empty labels: nothing to corrupt.
    empty = noise.corrupt(np.zeros(0, dtype=int), 0.5, noise.uniform(2))
    assert empty.labels.size == 0 and empty.selected_fraction == 0.0 and empty.changed_fraction == 0.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (
            lambda: noise.corrupt([0, 1, 2], 1.2, noise.uniform(3)),
            r"gamma must be a number in \[0, 1\], got 1.2",
        ),
        (
            lambda: noise.corrupt([0, 1, 3], 0.1, noise.uniform(3)),
            r"labels must be labels in 0..2 \(L = 3\), got 3",
        ),
        (
            lambda: noise.corrupt([0, -1], 0.1, noise.uniform(3)),
            r"labels must be labels in 0..2 \(L = 3\), got -1",
        ),
        (
            lambda: noise.corrupt([[0, 1]], 0.1, noise.uniform(3)),
            r"labels must be a 1-D array of shape \(N,\)",
        ),
        (lambda: noise.corrupt([0, 1], 0.1, np.full((3, 3), 0.5)), "row-stochastic"),
        (lambda: noise.corrupt([0, 1], 0.1, np.ones((2, 3))), "square"),
        (
            lambda: noise.concentrated(np.zeros((3, 2)), [0, 1], 0.2),
            r"embedding must be an array of shape \(2, D\)",
        ),
        (lambda: noise.concentrated(np.full((2, 2), np.inf), [0, 1], 0.2), "embedding must be finite"),
        (lambda: noise.concentrated(np.full((2, 2), 1e39), [0, 1], 0.2), r"embedding\[0, 0\] must be within"),
        (
            lambda: noise.concentrated(np.zeros((2, 2)), [0, 1], 0.2, n_labels=0),
            "n_labels must be an integer",
        ),
        (lambda: noise.partially_concentrated(np.zeros((2, 2)), [0, 1], 0.2, 1.5), "concentration must be"),
        (lambda: noise.flip(3, mapping=[0, 2, 1]), r"mapping must be free of fixed points .*got \[0, 2, 1\]"),
        (lambda: noise.flip(3, mapping=[1, 2]), r"mapping must be one target label per class, shape \(3,\)"),
        (lambda: noise.flip(3, mapping=[1, 2, 3]), r"mapping must be labels in 0..2 \(L = 3\), got 3"),
        (lambda: noise.concentrated(np.zeros((2, 2)), [0, 1], 0.2, alternative=[0, 0]), "another class"),
        (lambda: noise.concentrated(np.zeros((2, 2)), [0, 1], 0.2, alternative=[1]), r"shape \(2,\)"),
        (lambda: noise.uniform(0), "n_labels must be an integer >= 1, got 0"),
        (lambda: noise.symmetric(1), "n_labels must be an integer >= 2, got 1"),
        (lambda: noise.general(3, sharpness=0), r"sharpness must be a number > 0, got 0"),
        (lambda: noise.general(3, sharpness=np.inf), "sharpness must be"),
        (lambda: noise.from_confusion(np.ones((2, 3))), r"confusion must be a square \(L, L\) matrix"),
        (
            lambda: noise.from_confusion([[1, -1], [0, 1]]),
            r"confusion\[0, 1\] must be finite and non-negative",
        ),
        (lambda: noise.from_confusion([[1, 0], [0, 0]]), "confusion row 1 must be non-empty"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: noise.corrupt([0.5, 1], 0.1, noise.uniform(2)), "labels must be integer labels"),
        (lambda: noise.corrupt([0, 1], "0.1", noise.uniform(2)), "gamma must be a number"),
        (
            lambda: noise.corrupt([0, 1], 0.1, noise.uniform(2), seed=-1),
            "seed must be a non-negative integer",
        ),
        (lambda: noise.uniform(2.0), "n_labels must be an integer"),
        (lambda: noise.flip(3, mapping=[1.5, 2, 0]), "mapping must be integer labels"),
        (lambda: noise.general(3, seed=None), "seed must be"),
        (lambda: noise.general(3, sharpness="4"), "sharpness must be"),
        (lambda: noise.concentrated(np.full((2, 2), "a"), [0, 1], 0.2), "embedding must be a numeric"),
        (lambda: noise.concentrated(np.zeros((2, 2)), [0, 1], 0.2, seed=0.5), "seed must be"),
        (lambda: noise.partially_concentrated(np.zeros((2, 2)), [0, 1], 0.2, 0.5, seed="1"), "seed must be"),
    ],
)
def test_bad_input_type(call, match):
    with pytest.raises(TypeError, match=match):
        call()
