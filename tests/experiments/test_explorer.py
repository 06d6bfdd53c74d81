"""The explorer's grid: Eq. 1 for K-dependent clean distributions, deduplicated, equals the plain mean."""

from __future__ import annotations

import numpy as np
import pytest

from knnoise import expected_accuracy
from knnoise.experiments import explorer
from knnoise.experiments.networks import corruption_matrix


def test_k_dependent_source_matches_expected_accuracy_per_k() -> None:
    rng = np.random.default_rng(1)
    ks, gammas = [1, 2, 4], np.linspace(0.0, 1.0, 4)
    counts = rng.multinomial(4, np.full(3, 1 / 3), size=8)  # repeated histograms: deduplication is used
    hoods = np.stack([counts / 4.0] * len(ks))
    labels = rng.integers(3, size=8)
    grid = explorer.grid([explorer.Source("knn", "K-NN", hoods, labels)], gammas, ks, seed=0)
    for noise in explorer.NOISES:
        P = corruption_matrix(noise, 3, seed=0)
        for ties in explorer.RULES:
            want = expected_accuracy(hoods[0], labels, gammas, P, ks, ties, progress=False)
            got = grid[(grid.noise == noise) & (grid.ties == ties)].pivot(
                index="gamma", columns="K", values="accuracy"
            )
            np.testing.assert_allclose(got[ks].to_numpy(), want, atol=1e-12)


def test_limit_is_the_share_of_examples_whose_true_label_leads() -> None:
    src = explorer.ideal(4, 1.0)
    limit = explorer.limit([src], [0.0, 0.4, 0.6]).set_index(["noise", "gamma"]).accuracy
    assert limit["flip", 0.4] == 1.0 and limit["flip", 0.6] == 0.0  # roles reverse at 1/2
    assert limit["uniform", 0.6] == 1.0


@pytest.mark.parametrize("confidence", [0.25, 1.5])
def test_ideal_rejects_a_confidence_outside_the_plurality_range(confidence: float) -> None:
    with pytest.raises(ValueError, match=r"confidence must be in \(1/L, 1\]"):
        explorer.ideal(4, confidence)
