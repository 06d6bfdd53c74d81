"""The data chapter: what a dataset holds — its sizes, examples of every class and the class balance.

:func:`run` loads the dataset as the other chapters do (:func:`knnoise.pipeline.data_spec.load_dataset`),
draws the stratified training subset the chapter describes, and tabulates the sizes and the share of the
smallest and the largest class per split (the balance that uniform noise relies on, Sec. 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from knnoise.data import Dataset
from knnoise.pipeline.params import Params

__all__ = ["DataResult", "class_balance", "run", "sizes"]

SPLITS = ("train", "test")


@dataclass(frozen=True)
class DataResult:
    """The whole dataset, the part used here, and the chapter's tables."""

    full: Dataset
    dataset: Dataset  # the whole dataset, or its stratified training subset
    sizes: pd.DataFrame  # rows "whole dataset", "used here": sizes, classes, example shape, dtype
    balance: pd.DataFrame  # a row per split: the smallest and largest class and their shares

    def balance_lines(self) -> list[str]:
        """The balance per split as one line of text each (the smallest and largest class's share)."""
        return [
            f"{split:>5}: smallest class {row.smallest!r} {row.smallest_share:.1%}, "
            f"largest {row.largest!r} {row.largest_share:.1%} (balanced: {row.balanced:.1%})"
            for split, row in self.balance.iterrows()
        ]

    def quoted(self) -> dict[str, Any]:
        """The numbers the chapter's prose quotes, keyed ``<split>_smallest``, ``<split>_smallest_share``,
        ``<split>_largest``, ``<split>_largest_share`` and ``balanced`` (shares as fractions)."""
        values: dict[str, Any] = {"name": self.dataset.name, "balanced": float(self.balance.balanced.iloc[0])}
        for split, row in self.balance.iterrows():
            for column in ("smallest", "smallest_share", "largest", "largest_share"):
                values[f"{split}_{column}"] = row[column]
        return values


def sizes(full: Dataset, used: Dataset) -> pd.DataFrame:
    """The sizes of the whole dataset and of the part used here, with the example shape and dtype."""
    return pd.DataFrame(
        {
            "training examples": [full.n_train, used.n_train],
            "test examples": [full.n_test, used.n_test],
            "classes": [full.n_classes, used.n_classes],
            "example shape": [str(full.image_shape or (full.dim,))] * 2,
            "stored as": [str(full.x_train.dtype)] * 2,
        },
        index=["whole dataset", "used here"],
    )


def class_balance(ds: Dataset) -> pd.DataFrame:
    """Per split: the smallest and the largest class, their shares of the split, and ``1/L``."""
    rows = {}
    for split in SPLITS:
        counts = ds.class_counts(split)
        share = counts / counts.sum()
        rows[split] = {
            "smallest": ds.class_names[share.argmin()], "smallest_share": float(share.min()),
            "largest": ds.class_names[share.argmax()], "largest_share": float(share.max()),
            "balanced": 1 / ds.n_classes,
        }  # fmt: skip
    return pd.DataFrame.from_dict(rows, orient="index")


def run(p: Params) -> DataResult:
    """Load ``p.dataset`` (``data_path``), take the ``train_subset`` (seeded), tabulate it."""
    full = p.data.with_subsets(train=None, test=None).load()
    train_subset = p.train_subset
    ds = full.subset(n_train=train_subset, seed=p.seed) if train_subset is not None else full
    return DataResult(full, ds, sizes(full, ds), class_balance(ds))
