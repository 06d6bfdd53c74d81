"""The clean softmax ``C_s`` (Eq. 3) and the labels from a model a practitioner already has.

:func:`softmax_from_sklearn` takes a fitted scikit-learn classifier (``predict_proba``);
:func:`softmax_from_torch` runs a torch module over a DataLoader of ``(x, y)`` batches. Both return
``(softmax, labels)`` as numpy arrays, ready for :func:`knnoise.predict.predict`, or for a CSV with a column
per class and a ``label`` column (:func:`to_frame`) that ``python -m knnoise predict --softmax
FILE.csv:p0-p9 --labels FILE.csv:label`` reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from knnoise._checks import fail

__all__ = ["softmax_from_sklearn", "softmax_from_torch", "to_frame"]


def softmax_from_sklearn(classifier: Any, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """``classifier.predict_proba(X)`` (shape (M, L)) and ``y`` as class indices 0..L-1 (shape (M,)).

    ``y`` may hold the classifier's own class values (``classifier.classes_``, strings too): they are
    mapped to the columns of ``predict_proba``.
    """
    if not callable(getattr(classifier, "predict_proba", None)):
        allowed = "a fitted scikit-learn classifier with predict_proba"
        raise fail("classifier", allowed, type(classifier).__name__, TypeError, raw=True)
    probs = np.asarray(classifier.predict_proba(X), dtype=np.float64)
    classes = np.asarray(getattr(classifier, "classes_", np.arange(probs.shape[1]))).tolist()
    index = {c: i for i, c in enumerate(classes)}
    y = np.asarray(y)
    missing = [v for v in np.unique(y).tolist() if v not in index]
    if missing:
        raise fail("y", f"values among the classifier's classes {classes}", missing[0])
    return probs, np.array([index[v] for v in y.tolist()], dtype=np.int64)


def softmax_from_torch(
    model: Any, batches: Iterable[Any], *, device: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """The softmax of ``model``'s outputs (logits) over ``batches`` of ``(x, y)`` (a DataLoader), in
    evaluation mode and without gradients, and the labels: float32 (M, L) and int64 (M,).

    ``device``: where to run (default: where the model's parameters are). The model's training mode is
    restored afterwards.
    """
    import torch

    if device is None:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
    was_training = model.training
    model.eval()
    probs, labels = [], []
    try:
        with torch.no_grad():
            for i, batch in enumerate(batches):
                if not isinstance(batch, list | tuple) or len(batch) < 2:
                    raise fail(f"batches[{i}]", "an (x, y) pair, as a DataLoader of a labelled dataset gives",
                               type(batch).__name__, TypeError, raw=True)  # fmt: skip
                x, y = batch[0], batch[1]
                logits = model(x.to(device))
                probs.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
                labels.append(torch.as_tensor(y).cpu().numpy().astype(np.int64))
    finally:
        model.train(was_training)
    if not probs:
        raise fail("batches", "at least one (x, y) batch", "none", raw=True)
    return np.concatenate(probs), np.concatenate(labels)


def to_frame(softmax: Any, labels: Any, prefix: str = "p") -> pd.DataFrame:
    """A column per class (``p0..p{L-1}``) and a ``label`` column: the file layout the CLI reads with
    ``--softmax FILE.csv:p0-p{L-1} --labels FILE.csv:label`` (write it with ``index=False``)."""
    probs = np.asarray(softmax)
    if probs.ndim != 2:
        raise fail("softmax", "an (M, L) array", f"shape {probs.shape}", raw=True)
    frame = pd.DataFrame(probs, columns=[f"{prefix}{i}" for i in range(probs.shape[1])])
    return frame.assign(label=np.asarray(labels))
