"""One module per chapter of the book: each turns the chapter's parameters
(:class:`knnoise.pipeline.params.Params`, from the notebook's setup cell) into tidy results and what its
figures need; the notebook ``notebooks/<name>.py`` calls it, panel by panel.

:data:`CHAPTERS` maps each notebook to its module. The run plumbing they stand on (datasets, sweeps, the
engine, the network cells, results tables) is :mod:`knnoise.pipeline`; the science below is
:mod:`knnoise.theory`, :mod:`knnoise.knn`, :mod:`knnoise.dnn`, :mod:`knnoise.data`, :mod:`knnoise.noise`.
Importing this package imports none of the chapters (they import torch).
"""

__all__ = ["CHAPTERS"]

CHAPTERS = {
    "data": "dataset_summary",  # what a dataset holds: sizes, examples, class balance
    "theory": "theorem_checks",  # Theorem 1 checked (brute force, Monte Carlo), timed, drawn
    "explorer": "explorer",  # Theorem 1 on an interactive page
    "fig1_concentration": "fig1_concentration",  # Fig. 1: randomly spread vs locally concentrated noise
    "fig2_softmax": "fig2_softmax",  # Fig. 2: a network's softmax under noise
    "fig3_knn": "fig3_knn",  # Fig. 3: K-NN, measured against the analytic curves
    "fig4_dnn": "fig4_dnn",  # Fig. 4: networks against the analytic curves, the effective K
    "supp_feature_knn": "supp_feature_knn",  # the supplement: K-NN on a network's features
    "your_model": "your_model",  # a practitioner's network from its saved softmax
    "concentration": "concentration_knob",  # beyond the paper: the concentration knob
}
