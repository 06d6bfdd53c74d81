"""knnoise.dnn.deadlines: a training run that would end after the block's deadline stops after an epoch
with OutOfTime (nothing cached); one that fits gives the numbers it gives without a deadline."""

from __future__ import annotations

import numpy as np
import pytest

from knnoise.data import load
from knnoise.dnn import OutOfTime, deadline, is_cached, train, train_group

DIGITS = load("digits").subset(n_train=300, n_test=100, seed=0)
QUICK = {"epochs": 3, "lr": 0.01, "lr_halving_every": None, "device": "cpu", "progress": False,
         "num_threads": 1}  # fmt: skip


def test_a_run_that_cannot_finish_stops_after_its_first_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))
    with deadline(0.0), pytest.raises(OutOfTime, match="stopped after epoch 1 of 3") as stopped:
        train(DIGITS, DIGITS.y_train, seed=0, cache=True, **QUICK)
    out = stopped.value
    assert (out.networks, out.epochs_done, out.epochs) == (1, 1, 3) and out.seconds > 0
    assert out.seconds_per_network == pytest.approx(out.seconds * 4)  # 3 epochs and the outputs
    assert not is_cached(DIGITS, DIGITS.y_train, seed=0, **QUICK)
    with pytest.raises(OutOfTime) as grouped, deadline(0.0):  # a group: per network, the group's time / G
        train_group(DIGITS, [DIGITS.y_train] * 2, [0, 1], cache=True, **QUICK)
    assert grouped.value.networks == 2
    assert grouped.value.seconds_per_network == pytest.approx(grouped.value.seconds * 4 / 2)
    assert not any(is_cached(DIGITS, DIGITS.y_train, seed=s, **QUICK) for s in (0, 1))
    assert train(DIGITS, DIGITS.y_train, seed=0, **QUICK).best_epoch >= 1  # the block left: no deadline


def test_a_run_within_its_deadline_is_unchanged():
    plain = train(DIGITS, DIGITS.y_train, seed=0, **QUICK)
    with deadline(3600):
        timed = train(DIGITS, DIGITS.y_train, seed=0, **QUICK)
    assert timed.test_accuracy == plain.test_accuracy
    np.testing.assert_array_equal(timed.test_softmax, plain.test_softmax)
    with deadline(0.0):  # the last epoch: nothing left to project, the run ends
        assert train(DIGITS, DIGITS.y_train, seed=0, **{**QUICK, "epochs": 1}).best_epoch == 1


@pytest.mark.parametrize(
    ("seconds", "error"), [(-1, ValueError), (float("nan"), ValueError), ("9m", TypeError)]
)
def test_a_bad_deadline_is_refused(seconds, error):
    with pytest.raises(error, match="seconds must be"), deadline(seconds):
        pass


def test_the_earlier_deadline_holds_and_out_of_time_pickles(monkeypatch):
    import pickle

    from knnoise.dnn import deadlines as module

    with deadline(3600):
        outer = module._DEADLINE.get()
        with deadline(None):
            assert module._DEADLINE.get() == outer  # None adds no deadline, nor lifts the outer one
        with deadline(7200):
            assert module._DEADLINE.get() == outer
        with deadline(1):
            assert module._DEADLINE.get() < outer
    assert module._DEADLINE.get() is None
    out = pickle.loads(pickle.dumps(OutOfTime(networks=4, epochs_done=2, epochs=20, seconds=8.0)))
    assert (out.networks, out.seconds_per_network, str(out)) == (4, 21.0, str(OutOfTime(4, 2, 20, 8.0)))
