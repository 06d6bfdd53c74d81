"""Your own network under label noise: the paper's recipe, run on files a user's code writes.

:func:`clean_softmax` trains (or loads) the book's clean network (the one of Figs. 2 and 4 when the
parameters match); :func:`save_outputs` writes its float32 test softmax to an ``.npy`` and the labels to
a ``.csv``, as a user would save their own network's; :func:`predict_saved` reads them back and predicts
the curves (:func:`knnoise.predict.predict`: Eq. 3 with the softmax as ``C_s``, Theorem 1, Eq. 1);
:func:`cli_command` and :func:`run_cli` do the same through ``python -m knnoise predict``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from knnoise import predict
from knnoise._io import write_text
from knnoise.data import Dataset
from knnoise.dnn import TrainResult
from knnoise.pipeline.networks import clean_network, send_networks
from knnoise.pipeline.params import Params

__all__ = [
    "SavedOutputs",
    "YourModelResult",
    "clean_softmax",
    "cli_command",
    "grid_text",
    "holds_until",
    "predict_saved",
    "quoted",
    "run",
    "run_cli",
    "save_outputs",
]

SOFTMAX_FILE = "softmax.npy"
LABELS_FILE = "labels.csv"


@dataclass(frozen=True)
class SavedOutputs:
    """Where :func:`save_outputs` wrote the softmax and the labels (a temporary folder kept alive here)."""

    folder: Path
    softmax: Path
    labels: Path
    _keep: Any = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        shape = np.load(self.softmax, mmap_mode="r").shape
        n = len(self.labels.read_text(encoding="utf-8").split())
        return f"{self.softmax.name}: {shape[0]} x {shape[1]} float32 softmax; {self.labels.name}: {n} labels"

    def row_sum_error(self) -> float:
        """The largest ``|sum of a row - 1|`` of the saved softmax, in float64 (float32 rounding)."""
        values = np.load(self.softmax)
        return float(np.max(np.abs(values.astype(np.float64).sum(axis=1) - 1.0)))


@dataclass(frozen=True)
class YourModelResult:
    """The clean network, the files it was saved to, and the prediction read back from them."""

    dataset: Dataset
    clean_net: TrainResult
    saved: SavedOutputs
    prediction: predict.Prediction


def clean_softmax(
    p: Params, *, executor: Executor | None = None
) -> tuple[Dataset, TrainResult]:
    """The dataset and the network trained on its clean labels (its test softmax is ``C_s``, Eq. 3).

    ``executor`` (:func:`knnoise.pipeline.engine.executor`): train the network there first; None: here.
    """
    if executor is not None:
        send_networks([], p, executor)
    ds = p.data.load()
    return ds, clean_network(ds, p.schedule, seed=p.seed, device=p.device)


def save_outputs(net: TrainResult, ds: Dataset, folder: str | Path | None = None) -> SavedOutputs:
    """Save the test softmax (float32, (M, L)) as ``softmax.npy`` and the labels one per line as
    ``labels.csv`` in ``folder`` (default: a temporary folder, removed with the returned object)."""
    keep = None
    if folder is None:
        keep = tempfile.TemporaryDirectory(prefix="knnoise_your_model_")
        folder = keep.name
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / SOFTMAX_FILE, np.asarray(net.test_softmax, dtype=np.float32))
    write_text(folder / LABELS_FILE, "".join(f"{int(y)}\n" for y in ds.y_test))
    return SavedOutputs(folder, folder / SOFTMAX_FILE, folder / LABELS_FILE, keep)


def predict_saved(saved: SavedOutputs, p: Params) -> predict.Prediction:
    """Read the saved files back and predict the curves for the parameters' noises, gammas, ks and ties."""
    softmax = predict.read_softmax(saved.softmax)
    labels = predict.read_labels(saved.labels, n_rows=len(softmax), n_labels=softmax.shape[1])
    return predict.predict(softmax, labels, list(p.noises), p.gammas, p.ks,
                           p.ties)  # fmt: skip


def run(
    p: Params, folder: str | Path | None = None, *, executor: Executor | None = None
) -> YourModelResult:
    """The chapter from end to end: train (or load; on ``executor`` if given), save, read back, predict."""
    ds, net = clean_softmax(p, executor=executor)
    saved = save_outputs(net, ds, folder)
    return YourModelResult(ds, net, saved, predict_saved(saved, p))


def grid_text(values: Sequence[float]) -> list[str]:
    """Noise levels as the CLI's arguments: ``["0:1:0.05"]`` when evenly spaced, else each value."""
    values = np.asarray(values, dtype=float)
    if len(values) > 2:
        steps = np.diff(values)
        if np.allclose(steps, steps[0], rtol=0, atol=1e-9) and steps[0] > 0:
            return [f"{values[0]:g}:{values[-1]:g}:{steps[0]:g}"]
    return [f"{v:g}" for v in values]


def cli_command(p: Params) -> list[str]:
    """``python -m knnoise predict ...`` on :func:`save_outputs`' files (run in their folder)."""
    return [
        "python", "-m", "knnoise", "predict", "--softmax", SOFTMAX_FILE, "--labels", LABELS_FILE,
        "--noise", *p.noises, "--gammas", *grid_text(p.gammas),
        "--ks", *(str(k) for k in p.ks), "--ties", p.ties,
    ]  # fmt: skip


def run_cli(command: Sequence[str], folder: str | Path) -> str:
    """Run ``command`` (from :func:`cli_command`) with this Python in ``folder``; its standard output."""
    argv = [sys.executable, *command[1:], "--no-progress"]
    done = subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {done.returncode}:\n{done.stderr}")
    return done.stdout


def holds_until(prediction: predict.Prediction, noise: str, k: int, share: float = 0.5) -> float:
    """The largest noise level up to which the curve at ``k`` stays at or above ``share`` of its value at
    the smallest level (every level up to it included); the smallest level when none after it does."""
    curve = prediction.table(noise)[k]
    above = (curve >= share * curve.iloc[0]).to_numpy()
    last = len(above) if above.all() else int(np.argmin(above))
    return float(curve.index[max(last - 1, 0)])


def quoted(prediction: predict.Prediction) -> dict[str, Any]:
    """The numbers the chapter's prose quotes (glue names without the chapter prefix).

    The curves at the smallest and the largest K at the noise level nearest 1/2, and how far each noise
    model's curve at the largest K holds (:func:`holds_until`), each also as one text.
    """
    pred = prediction
    k_lo, k_hi = min(pred.ks), max(pred.ks)
    half = float(pred.gammas[np.argmin(np.abs(pred.gammas - 0.5))])
    values: dict[str, Any] = {"k_lo": k_lo, "k_hi": k_hi, "half": half, "ties": pred.ties}
    at_half, holds = [], []
    for noise in pred.noises:
        table = pred.table(noise)
        lo, hi, until = (
            float(table.loc[half, k_lo]),
            float(table.loc[half, k_hi]),
            holds_until(pred, noise, k_hi),
        )
        values |= {f"{noise}_half_lo": lo, f"{noise}_half_hi": hi, f"{noise}_holds": until}
        at_half.append(f"{noise} noise {lo:.3f} (K = {k_lo}) and {hi:.3f} (K = {k_hi})")
        holds.append(f"up to γ = {until:g} under {noise} noise")
    return values | {"at_half": "; ".join(at_half), "holds": ", ".join(holds)}
