"""Theory layer: Theorem 1 and Eq. 1-4 of Drory et al., the slow reference DPs, the effective-K fit.

* :mod:`knnoise.theory.accuracy`: the public solver API (:func:`plurality_accuracy`, Eq. 2;
  :func:`noisy_label_distribution`, Eq. 3; :func:`expected_accuracy`, Eq. 1) and its input checks;
* private step modules of the numba solver, one per step of the Theory chapter's derivation:
  ``_plan`` (which ``t`` and labels need work), ``_tails`` (``t > K/3``: no DP), ``_dp`` (the scaled
  DP over labels, merged labels, the per-``t`` sum), ``_ties`` (tie rules, Gauss-Legendre), ``_solver``
  (the row driver, batching, chunking, progress);
* :mod:`knnoise.theory.reference`: enumeration, Monte Carlo and the paper's plain Eq. 4;
* :mod:`knnoise.theory.fit`: the effective K of a network (beyond the paper).

The numba kernels are cached on disk per file; numba does not notice edits to a *callee's* file, so after
changing one of the step modules clear the cache (``rm knnoise/theory/__pycache__/*.nb[ci]``).
"""

from knnoise.theory.accuracy import (
    DEFAULT_TOL,
    MAX_K,
    TIE_MODES,
    expected_accuracy,
    expected_accuracy_local,
    noisy_label_distribution,
    plurality_accuracy,
)
from knnoise.theory.fit import EffectiveK, fit_effective_k
from knnoise.theory.reference import brute_force_accuracy, monte_carlo_accuracy, plain_eq4_accuracy

__all__ = [
    "DEFAULT_TOL",
    "MAX_K",
    "TIE_MODES",
    "EffectiveK",
    "brute_force_accuracy",
    "expected_accuracy",
    "expected_accuracy_local",
    "fit_effective_k",
    "monte_carlo_accuracy",
    "noisy_label_distribution",
    "plain_eq4_accuracy",
    "plurality_accuracy",
]
