"""Predict a given network's accuracy under label noise from its clean softmax (beyond the paper).

The paper's recipe (Sec. 4, Fig. 4) as a tool: take ``C_s`` = the softmax of a network trained on clean
labels, one row per test example; Eq. 3 gives each example's neighbour-label distribution under noise,
``q = (1 - gamma) C_s + gamma C_s P``; Theorem 1 and Eq. 1 give the expected accuracy for each K. With
measured accuracies of networks trained on noisy labels, the fit finds the network's *effective K*.

* :mod:`~knnoise.predict.readers`: ``.npy``, ``.npz`` (``FILE.npz:KEY``), ``.csv``/``.tsv``/``.txt``
  (``FILE.csv:COLUMN``, or class columns ``FILE.csv:p0-p9``) and torch ``.pt`` files, as numpy arrays;
* :mod:`~knnoise.predict.inputs`: the softmax, labels, noise models and measurements (a tidy
  ``noise,gamma,accuracy`` table), checked; :mod:`~knnoise.predict.diagnose`: why rows do not sum to 1;
* :mod:`~knnoise.predict.curves`: :func:`predict` (curves, fits, figure);
* :mod:`~knnoise.predict.export`: the softmax from a scikit-learn classifier or a torch module;
* :mod:`~knnoise.predict.cli`: ``python -m knnoise predict``.

From Python::

    from knnoise import predict
    softmax = predict.read_softmax("softmax.npy")          # e.g. torch.softmax(model(x), 1).numpy()
    labels = predict.read_labels("labels.npy", n_rows=len(softmax), n_labels=softmax.shape[1])
    result = predict.predict(softmax, labels, ["uniform", "flip"], gammas, ks=[1, 5, 25])
    result.table("uniform")                                 # a row per gamma, a column per K

or, the CLI's twin on a DataFrame with class columns p0..p9 and a label column::

    result = predict.predict(frame, "label", noise=["uniform", "flip"], class_columns="p",
                             measured="measured.csv")      # a tidy noise,gamma,accuracy table
    result.fit["flip"].k, result.all_curves, result.to_json(), result.plot()
"""

from knnoise.predict.curves import (
    COLUMNS,
    DEFAULT_GAMMAS,
    DEFAULT_KS,
    FIT_K,
    Prediction,
    default_fit_ks,
    predict,
    predict_curves,
)
from knnoise.predict.export import softmax_from_sklearn, softmax_from_torch, to_frame
from knnoise.predict.inputs import (
    NOISE_NAMES,
    corruption,
    corruptions,
    read_labels,
    read_measured,
    read_softmax,
    split_measured,
)
from knnoise.predict.readers import SUFFIXES, Table, read_table, select_columns, split_spec

__all__ = [
    "COLUMNS",
    "DEFAULT_GAMMAS",
    "DEFAULT_KS",
    "FIT_K",
    "NOISE_NAMES",
    "SUFFIXES",
    "Prediction",
    "Table",
    "corruption",
    "corruptions",
    "default_fit_ks",
    "predict",
    "predict_curves",
    "read_labels",
    "read_measured",
    "read_softmax",
    "read_table",
    "select_columns",
    "softmax_from_sklearn",
    "softmax_from_torch",
    "split_measured",
    "split_spec",
    "to_frame",
]
