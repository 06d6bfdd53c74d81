"""Tests for knnoise.dnn.result: TrainResult rebuilds its network and predicts as in training."""

from __future__ import annotations

import pickle

import numpy as np


def test_rebuilt_model_reproduces_the_outputs(clean_run, digits):
    softmax, features = clean_run.predict(digits.x_test)
    np.testing.assert_allclose(softmax, clean_run.test_softmax, atol=1e-6)
    np.testing.assert_allclose(features, clean_run.test_features, atol=1e-5)
    small = clean_run.predict(digits.x_test[:5], batch_size=2)[0]
    np.testing.assert_allclose(small, clean_run.test_softmax[:5], atol=1e-6)
    assert not clean_run.model().training


def test_repr_and_pickle(clean_run):
    text = repr(clean_run)
    assert text.startswith("TrainResult(mnist on digits (n_train=1437), test_accuracy=")
    assert "best_epoch=" in text and "/5" in text and "device='cpu'" in text
    again = pickle.loads(pickle.dumps(clean_run))
    assert np.array_equal(again.test_softmax, clean_run.test_softmax) and again.params == clean_run.params
