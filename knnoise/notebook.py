"""Small helpers the chapter notebooks share: parameter checks, dataset loading, printing parameters.

Each notebook's parameters cell is overridden by papermill; these checks turn a bad value into a clear
``ValueError`` naming the parameter instead of a failure deep inside a computation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import yaml

from knnoise import data

__all__ = [
    "check_choice",
    "check_int",
    "check_ks",
    "check_noise_levels",
    "check_schedule",
    "load_dataset",
    "show_parameters",
]


def check_int(name: str, value, minimum: int = 1, allow_none: bool = False) -> int | None:
    """An integer >= ``minimum`` (or None when allowed; YAML text accepted)."""
    value = _parse(value)
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        allowed = f"an integer >= {minimum}" + (" or None" if allow_none else "")
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value)


def check_choice(name: str, value, allowed: Sequence[str]) -> str:
    """One of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")
    return value


def _parse(value):
    """``papermill -p ks "[1, 5, 25]"`` passes a string: read it as YAML (a list, a number, null)."""
    if isinstance(value, str):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            return value
    return value


def check_ks(name: str, value) -> list[int]:
    """A non-empty list of distinct positive integers (or its YAML text), returned sorted."""
    value = _parse(value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{name} must be a non-empty list of positive integers, got {value!r}")
    ks = [check_int(f"{name} entry", k) for k in value]
    if len(set(ks)) != len(ks):
        raise ValueError(f"{name} must not repeat a value, got {value!r}")
    return sorted(ks)


def check_noise_levels(name: str, value, default: Sequence[float]) -> np.ndarray:
    """Noise levels in [0, 1] (``default`` when None; YAML text accepted), as a float array."""
    value = _parse(value)
    if value is None:
        return np.asarray(default, dtype=float)
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{name} must be a non-empty list of noise levels in [0, 1] or None, got {value!r}")
    for g in value:
        if isinstance(g, bool) or not isinstance(g, (int, float)) or not 0 <= g <= 1:
            raise ValueError(f"{name} entries must be numbers in [0, 1], got {g!r}")
    return np.asarray(value, dtype=float)


def check_schedule(model, epochs, lr, lr_halving_every) -> dict:
    """The training schedule of the DNN chapters (checked), as ``knnoise.experiment`` takes it."""
    model = check_choice("model", model, ("mnist", "allcnnc"))
    epochs = check_int("epochs", epochs)
    lr = _parse(lr)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    halving = check_int("lr_halving_every", lr_halving_every, allow_none=True)
    return {"model": model, "epochs": epochs, "lr": float(lr), "lr_halving_every": halving}


def load_dataset(
    dataset: str,
    *,
    data_path: str | None = None,
    train_subset: int | None = None,
    test_subset: int | None = None,
    seed: int = 0,
) -> data.Dataset:
    """``knnoise.data.load`` with the notebooks' ``data_path`` convention, then a stratified subset."""
    check_choice("dataset", dataset, data.DATASETS)
    train_subset = check_int("train_subset", train_subset, allow_none=True)
    test_subset = check_int("test_subset", test_subset, allow_none=True)
    data_path = _parse(data_path)
    if dataset == "features" and data_path is None:
        raise ValueError('dataset="features" needs data_path: an .npz with x_train, y_train, x_test, y_test')
    options = {"features": {"path": data_path}, "cifar10": {"root": data_path}}.get(dataset, {})
    full = data.load(dataset, **{k: v for k, v in options.items() if v is not None})
    if train_subset is None and test_subset is None:
        return full
    return full.subset(n_train=train_subset, n_test=test_subset, seed=seed)


def show_parameters(parameters: Mapping[str, object]) -> None:
    """Print the parameters this page ran with (the merged profile, after papermill's injection)."""
    width = max(map(len, parameters), default=0) + 2
    print("Parameters:")
    for key, value in parameters.items():
        print(f"  {key:<{width}}{value!r}")
