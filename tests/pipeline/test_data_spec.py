"""knnoise.pipeline.data_spec: a chapter's data as one checked value (``p.data``)."""

import numpy as np
import pytest

from knnoise.pipeline.data_spec import DataSpec, load_dataset


def test_values_are_checked_and_canonical():
    spec = DataSpec("digits", None, np.int64(300), np.int32(100), np.int64(2))
    assert spec == DataSpec("digits", train_subset=300, test_subset=100, seed=2)
    assert type(spec.train_subset) is int and type(spec.seed) is int
    ds = spec.load()
    assert (ds.n_train, ds.n_test) == (300, 100)
    np.testing.assert_array_equal(ds.y_train, load_dataset("digits", train_subset=300, test_subset=100,
                                                            seed=2).y_train)  # fmt: skip
    assert spec.with_subsets(train=None, test=None).load().n_train == 1437


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"dataset": "nope"}, r"dataset must be one of \('digits'"),
        ({"dataset": "digits", "train_subset": 0}, "train_subset must be an integer >= 1 or None, got 0"),
        ({"dataset": "digits", "test_subset": 2.5}, "test_subset must be an integer"),
        ({"dataset": "digits", "seed": -1}, "seed must be an integer >= 0, got -1"),
        ({"dataset": "features"}, 'dataset="features" needs data_path'),
    ],
)
def test_bad_values_are_refused_when_made(values, match):
    with pytest.raises((TypeError, ValueError), match=match):
        DataSpec(**values)
