"""Tests for knnoise.dnn.loop (and TrainOptions.rate): early stopping on the clean validation labels,
patience, the lr schedule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from knnoise.dnn import TrainOptions, loop, train


def test_learning_rate_is_halved_every_n_epochs():
    schedule = TrainOptions(epochs=7, batch_size=2, lr=0.01, lr_halving_every=3)
    assert [schedule.rate(e) for e in range(1, 8)] == [0.01, 0.01, 0.01, 0.005, 0.005, 0.005, 0.0025]
    constant = TrainOptions(epochs=3, batch_size=2, lr=0.01, lr_halving_every=None)
    assert [constant.rate(e) for e in (1, 2, 3)] == [0.01] * 3


def test_best_keeps_the_first_of_equal_accuracies_and_counts_patience():
    best = loop._Best()
    for epoch, acc in enumerate([0.5, 0.7, 0.7, 0.6], start=1):
        best.update(acc, epoch, lambda epoch=epoch: {"epoch": torch.tensor(epoch)}, has_val=True)
    assert (best.epoch, best.val_accuracy) == (2, 0.7) and int(best.state["epoch"]) == 2
    assert best.patience_spent(4, 2, has_val=True) and not best.patience_spent(3, 2, has_val=True)
    assert not best.patience_spent(10, None, has_val=True)
    assert not best.patience_spent(10, 1, has_val=False)
    best.update(math.nan, 5, dict, has_val=False)  # no validation part: always the latest epoch
    assert best.epoch == 5


def test_keeps_the_best_clean_validation_checkpoint(digits, uniform_noise):
    noisy = uniform_noise(digits.y_train, 0.6, 10, seed=1)
    r = train(digits, noisy, epochs=4, batch_size=64, lr=0.01, lr_halving_every=None, seed=2, progress=False)
    val = r.history["val_accuracy"]
    assert r.best_epoch == r.history["epoch"][int(np.argmax(val))] and r.best_val_accuracy == max(val)
    # the returned weights are that checkpoint's: they give its clean validation accuracy
    model = r.model()
    x_val = torch.from_numpy(digits.x_train[r.val_index])
    with torch.no_grad():
        pred = model(x_val.float().div(255).unsqueeze(1)).argmax(1).numpy()
    assert np.mean(pred == digits.y_train[r.val_index]) == pytest.approx(r.best_val_accuracy)
    # trained on the noisy labels: it fits them better than chance, but validation uses the clean ones
    assert r.history["train_accuracy"][-1] < 0.9  # measured 0.37-0.43 (6 seeds x 3 kernel paths)


def test_best_checkpoint_is_the_weights_of_that_epoch(digits, fast, monkeypatch):
    """Scripted validation accuracies make epoch 2 of 4 the best; its weights equal a 2-epoch run's."""
    scripted = iter([0.5, 0.9, 0.7, 0.8])
    monkeypatch.setattr(loop, "_validate", lambda *a, **k: [next(scripted)])
    r4 = train(digits, digits.y_train, **{**fast, "epochs": 4}, seed=5)
    assert r4.best_epoch == 2 and r4.best_val_accuracy == 0.9 and len(r4.history["epoch"]) == 4
    scripted = iter([0.1, 0.2])
    r2 = train(digits, digits.y_train, **fast, seed=5)
    assert r2.best_epoch == 2
    assert all(torch.equal(r4.state_dict[k], v) for k, v in r2.state_dict.items())
    assert np.array_equal(r4.test_softmax, r2.test_softmax) and r4.test_accuracy == r2.test_accuracy


def test_patience_stops_training(digits, fast, monkeypatch):
    scripted = iter([0.5, 0.9, 0.7, 0.8, 0.95])
    monkeypatch.setattr(loop, "_validate", lambda *a, **k: [next(scripted)])
    r = train(digits, digits.y_train, **{**fast, "epochs": 5}, seed=0, patience=2)
    assert r.history["epoch"] == [1, 2, 3, 4] and r.best_epoch == 2


def test_no_validation_keeps_the_last_epoch(digits, fast):
    r = train(digits, digits.y_train, **fast, seed=0, val_fraction=0)
    assert r.best_epoch == 2 and len(r.val_index) == 0 and len(r.train_index) == digits.n_train
    assert math.isnan(r.best_val_accuracy) and all(math.isnan(v) for v in r.history["val_accuracy"])
