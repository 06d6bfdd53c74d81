"""The parameter schema of each chapter notebook, declared once, with shared groups.

Every name of a notebook's ``parameters`` cell (``notebooks/<name>.py``) has a constraint here; a test
checks that the two list the same names. Shared groups: :data:`DATA` (dataset, data_path, train_subset,
test_subset, seed), :data:`SCHEDULE` (model, epochs, lr, lr_halving_every) and :data:`RUN` (device, n_jobs,
repeats, scheduler). A notebook using a group gets the group's derived entry, built once by the setup
cell: ``data`` (the data parameters it declares, a :class:`~knnoise.pipeline.data_spec.DataSpec`) and
``schedule`` (the training schedule, a :class:`knnoise.dnn.TrainOptions`).

The choice lists are written out here, so that validating imports neither torch nor the data loaders;
tests check that they agree with :data:`knnoise.data.DATASETS` and the model registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from knnoise.book.schema import (
    Boolean,
    Constraint,
    Interval,
    ListOf,
    NoneOr,
    Options,
    ParameterError,
    Path,
    Schema,
    When,
)
from knnoise.book.schema import validate as _validate

__all__ = [
    "DATA",
    "DATASETS",
    "DEVICES",
    "MODELS",
    "RUN",
    "SCHEDULE",
    "SCHEMAS",
    "TIES",
    "chapter",
    "schema",
    "validate",
]

DATASETS = ("digits", "mnist", "cifar10", "features", "synthetic")  # knnoise.data.DATASETS
MODELS = ("mnist", "allcnnc")  # the networks the chapters train (knnoise.dnn.MODELS has more)
DEVICES = ("auto", "cpu", "cuda")
TIES = ("lowest", "random", "strict")  # knnoise._checks.TIE_MODES

POSITIVE = Interval(int, 1)
SUBSET = NoneOr(POSITIVE)
SEED = Interval(int, 0)
KS = ListOf(POSITIVE, unique=True, sort=True, scalar=True)
NOISE_LEVELS = ListOf(Interval(float, 0.0, 1.0), as_array=True)
FEATURES_FILE = Path("the .npz with x_train, y_train, x_test, y_test")


def noise_levels(default: Any, text: str = "") -> NoneOr:
    """Noise levels in [0, 1] as a float array; None means ``default``."""
    return NoneOr(NOISE_LEVELS, default=default, default_text=text)


@dataclass(frozen=True)
class Group:
    """Parameters several notebooks share, with their rules and the entry derived from them."""

    params: Mapping[str, Constraint]
    rules: tuple[When, ...] = ()
    derived: Mapping[str, Callable[[Mapping[str, Any]], Any]] = field(default_factory=dict)

    def pick(self, *names: str) -> Group:
        """The group restricted to ``names``."""
        return Group({n: self.params[n] for n in names}, self.rules, self.derived)


def _data(values: Mapping[str, Any]) -> Any:
    """``p.data``: the data parameters as a :class:`~knnoise.pipeline.data_spec.DataSpec`."""
    from knnoise.pipeline.data_spec import DataSpec

    return DataSpec(**{k: values[k] for k in DATA.params if k in values})


def _schedule(values: Mapping[str, Any]) -> Any:
    """``p.schedule``: the training schedule the DNN chapters train with, a :class:`knnoise.dnn.TrainOptions`
    (model default: mnist; the torch thread count resolved here, in the kernel running the setup cell).
    Imports torch: derived entries are made by the setup cell, never while validating."""
    from knnoise.dnn.options import TrainOptions

    return TrainOptions(
        model=values.get("model", "mnist"),
        epochs=values["epochs"],
        lr=values["lr"],
        lr_halving_every=values.get("lr_halving_every"),
    )


DATA = Group(
    {
        "dataset": Options(*DATASETS),
        "data_path": NoneOr(Path("features: the .npz file; cifar10: the folder above cifar-10-batches-py")),
        "train_subset": SUBSET,
        "test_subset": SUBSET,
        "seed": SEED,
    },
    rules=(When("dataset", ("features",), "data_path", FEATURES_FILE),),
    derived={"data": _data},
)
SCHEDULE = Group(
    {
        "model": Options(*MODELS),
        "epochs": POSITIVE,
        "lr": Interval(float, 0.0, None, closed="neither"),
        "lr_halving_every": NoneOr(POSITIVE),
    },
    derived={"schedule": _schedule},
)


@dataclass(frozen=True)
class Scheduler(Constraint):
    """Where a sweep's cells run (:func:`knnoise.pipeline.engine.parse`): a worker count ``N`` or
    ``"local:N"`` (a Dask ``LocalCluster``), or a Dask scheduler address ``"tcp://HOST:PORT"``."""

    def accepts(self, value: Any) -> bool:
        from knnoise.pipeline.engine import parse  # light: Dask is imported only to connect

        try:
            return parse(value) is not None
        except ValueError:
            return False

    def __str__(self) -> str:
        return "a worker count N >= 1, 'local:N' or a Dask scheduler address 'tcp://HOST:PORT'"

    def example(self) -> str:
        return "tcp://127.0.0.1:8786"

    def invalid_values(self) -> list[Any]:
        return ["not an address", 0]


RUN = Group(
    {
        "device": Options(*DEVICES),
        "n_jobs": POSITIVE,
        "repeats": POSITIVE,
        # the runner's --workers / --scheduler; None: in the notebook's kernel
        "scheduler": NoneOr(Scheduler()),
    }
)


def chapter(notebook: str, *groups: Group, rules: tuple[When, ...] = (), **params: Constraint) -> Schema:
    """A notebook's schema: the parameters of ``groups`` and ``params`` (which override a group's)."""
    merged: dict[str, Constraint] = {}
    derived: dict[str, Callable[[Mapping[str, Any]], Any]] = {}
    group_rules: list[When] = []
    for group in groups:
        merged.update(group.params)
        derived.update(group.derived)
        group_rules += [r for r in group.rules if r.name in group.params and r.other in group.params]
    merged.update(params)
    return Schema(notebook, merged, (*group_rules, *rules), derived)


def _steps(stop: float) -> Callable[[], np.ndarray]:
    """The noise levels 0, 0.05, ... below ``stop`` (Fig. 3's default axis)."""
    return lambda: np.round(np.arange(0, stop, 0.05), 2)


_UNUSED_PATH = tuple(d for d in DATASETS if d not in ("features", "cifar10"))

SCHEMAS: dict[str, Schema] = {
    s.notebook: s
    for s in (
        chapter(
            "data",
            DATA.pick("dataset", "train_subset", "seed", "data_path"),
            rules=(When("dataset", _UNUSED_PATH, "data_path", Options(None)),),
        ),
        chapter(
            "fig1_concentration",
            DATA,
            SCHEDULE,
            RUN.pick("device", "scheduler"),
            gamma=Interval(float, 0.0, 1.0, closed="neither"),
            tsne_points=NoneOr(Interval(int, 10)),
            perplexity=Interval(float, 0.0, None, closed="neither"),
            neighbours=POSITIVE,
        ),
        chapter(
            "fig2_softmax",
            DATA,
            SCHEDULE,
            RUN.pick("device", "scheduler"),
            uniform_gammas=noise_levels([0.5]),
            flip_gammas=noise_levels([0.5]),
            concentrated_gammas=noise_levels([0.5]),
        ),
        chapter(
            "theory",
            n_labels=Interval(int, 2),
            ks=KS,
            even_ks=KS,
            n_gammas=Interval(int, 2),
            mc_samples=POSITIVE,
            speed_rows=POSITIVE,
            speed_k=POSITIVE,
            seed=SEED,
        ),
        chapter(
            "explorer",
            DATA,
            SCHEDULE,
            RUN.pick("device"),
            # the page holds every curve: with the network's, the K-NN's and a few ideal sources these bounds
            # keep it to a few MB (knnoise.experiments.explorer.check_size checks the product before training)
            k_max=Interval(int, 1, 501),
            n_gammas=Interval(int, 2, 201),
            # the ideal neighbourhoods' true-label probability (above 1/L: see knnoise.experiments.explorer)
            confidences=ListOf(Interval(float, 0.0, 1.0, closed="right"), unique=True, sort=True),
            n_examples=SUBSET,
            knn_train_subset=SUBSET,
        ),
        chapter(
            "fig3_knn",
            DATA,
            SCHEDULE.pick("model", "epochs", "lr"),
            RUN.pick("repeats"),
            ks=KS,
            uniform_gammas=noise_levels(_steps(0.951), "0 to 0.95 in steps of 0.05"),
            flip_gammas=noise_levels(_steps(0.801), "0 to 0.8 in steps of 0.05"),
            ties=Options(*TIES),
            embedding=Options("pixels", "network"),
        ),
        chapter(
            "fig4_dnn",
            DATA,
            SCHEDULE,
            RUN,
            uniform_gammas=noise_levels([0.0]),
            flip_gammas=noise_levels([0.0]),
            general_gammas=noise_levels([0.0]),
            concentrated_gammas=noise_levels([0.0]),
            ks=KS,
            k_fit_max=POSITIVE,
            results_dir=Path("a folder of committed results tables"),
            save_results=NoneOr(Path("a folder to write this run's results table to")),
        ),
        chapter(
            "supp_feature_knn",
            DATA,
            SCHEDULE,
            RUN.pick("device", "scheduler"),
            uniform_gammas=noise_levels([0.5]),
            flip_gammas=noise_levels([0.5]),
            ks=KS,
        ),
        chapter(
            "your_model",
            DATA,
            SCHEDULE,
            RUN.pick("device", "scheduler"),
            noises=ListOf(Options("uniform", "symmetric", "flip"), unique=True),
            gammas=noise_levels(_steps(1.001), "0 to 1 in steps of 0.05"),
            ks=KS,
            ties=Options(*TIES),
        ),
        chapter(
            "concentration",
            DATA.pick("train_subset", "test_subset", "seed"),
            SCHEDULE.pick("epochs", "lr"),
            RUN.pick("repeats", "device", "scheduler"),
            # no data_path here, so not the features dataset (it needs one)
            dataset=Options(*(d for d in DATASETS if d != "features")),
            knn_train_subset=SUBSET,
            gammas=noise_levels([0.3]),
            concentrations=noise_levels([0.0, 1.0]),
            dnn_concentrations=noise_levels([0.0, 1.0]),
            ks=KS,
            ties=Options(*TIES),
            dnn=Boolean(),
        ),
    )
}


def schema(notebook: str) -> Schema:
    """The schema of ``notebook``; :class:`ParameterError` naming the known ones if it has none."""
    try:
        return SCHEMAS[notebook]
    except KeyError:
        raise ParameterError(
            f"{notebook}: no parameter schema; knnoise/book/chapters.py has schemas for {', '.join(SCHEMAS)}"
        ) from None


def validate(notebook: str, values: Mapping[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Validate ``values`` against the schema of ``notebook`` (see :func:`knnoise.book.schema.validate`)."""
    return _validate(schema(notebook), values, partial=partial)
