"""Shared fixtures of the predict tests: a small float32 softmax as a torch network outputs it."""

import numpy as np
import pytest
import torch

N_ROWS, N_LABELS = 60, 4


@pytest.fixture(scope="session")
def labels() -> np.ndarray:
    return np.random.default_rng(0).integers(0, N_LABELS, N_ROWS)


@pytest.fixture(scope="session")
def softmax(labels) -> np.ndarray:
    """(60, 4) float32 rows from torch.softmax, peaked at the label (rows sum to 1 only within ~1e-7)."""
    rng = np.random.default_rng(1)
    logits = 3.0 * np.eye(N_LABELS)[labels] + rng.normal(size=(N_ROWS, N_LABELS))
    return torch.softmax(torch.tensor(logits, dtype=torch.float32), dim=1).numpy()


@pytest.fixture()
def files(tmp_path, softmax, labels):
    """The softmax and labels saved as a user would: .npy, .pt, .csv (labels one per line)."""
    np.save(tmp_path / "softmax.npy", softmax)
    torch.save(torch.from_numpy(softmax), tmp_path / "softmax.pt")
    np.savetxt(tmp_path / "softmax.csv", softmax, delimiter=",", fmt="%.6f")
    np.save(tmp_path / "labels.npy", labels)
    np.savetxt(tmp_path / "labels.csv", labels, fmt="%d")
    return tmp_path
