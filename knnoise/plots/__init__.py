"""Figure functions the chapters call; each returns a :class:`matplotlib.figure.Figure`.

Pass ``path=...`` to also save the figure (the suffix picks the format, e.g. ``.png`` or ``.svg``).
One module per kind of figure: :mod:`~knnoise.plots.dataset_summary` (the data chapter),
:mod:`~knnoise.plots.curves` (accuracy against noise level, Figs. 3-4), :mod:`~knnoise.plots.softmax`
(Fig. 2, the supplement), :mod:`~knnoise.plots.embedding` (Fig. 1), :mod:`~knnoise.plots.concentration_knob`
(the concentration knob).
"""

from knnoise.plots.concentration_knob import concentration_curves
from knnoise.plots.curves import accuracy_curves, corruption_matrix, dnn_vs_analytic, knn_vs_analytic
from knnoise.plots.dataset_summary import class_balance, example_grid, feature_scatter
from knnoise.plots.embedding import embedding_panels
from knnoise.plots.softmax import knn_softmax_agreement, softmax_profile, true_label_first

__all__ = [
    "accuracy_curves",
    "class_balance",
    "concentration_curves",
    "corruption_matrix",
    "dnn_vs_analytic",
    "embedding_panels",
    "example_grid",
    "feature_scatter",
    "knn_vs_analytic",
    "knn_softmax_agreement",
    "softmax_profile",
    "true_label_first",
]
