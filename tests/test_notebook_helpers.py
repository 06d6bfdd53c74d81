"""knnoise.notebook: the notebooks' parameter checks and dataset loading."""

import numpy as np
import pytest

from knnoise.notebook import check_choice, check_int, check_ks, check_noise_levels, load_dataset


def test_papermill_strings_are_read_as_yaml():
    assert check_ks("ks", "[25, 1, 5]") == [1, 5, 25]
    assert check_ks("ks", 7) == [7]
    np.testing.assert_allclose(check_noise_levels("g", "[0, 0.5]", [0.1]), [0.0, 0.5])
    np.testing.assert_allclose(check_noise_levels("g", None, [0.1, 0.2]), [0.1, 0.2])
    assert check_int("repeats", "3") == 3
    assert check_int("train_subset", "null", allow_none=True) is None


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: check_ks("ks", "[1, 0]"), "ks entry must be an integer >= 1, got 0"),
        (lambda: check_ks("ks", [3, 3]), "must not repeat"),
        (lambda: check_ks("ks", "abc"), "ks must be a non-empty list"),
        (lambda: check_noise_levels("flip_gammas", [0.1, 1.5], [0.1]), r"flip_gammas entries .* got 1.5"),
        (lambda: check_int("repeats", 0), "repeats must be an integer >= 1, got 0"),
        (lambda: check_choice("ties", "first", ("lowest", "strict")), "ties must be one of"),
        (lambda: load_dataset("imagenet"), "dataset must be one of"),
        (lambda: load_dataset("features"), "needs data_path"),
    ],
)
def test_bad_parameters_name_themselves(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_load_dataset_subsets():
    ds = load_dataset("digits", train_subset=100, test_subset=50, seed=1)
    assert (ds.n_train, ds.n_test) == (100, 50)


def test_check_schedule():
    from knnoise.notebook import check_schedule

    assert check_schedule("mnist", "3", 0.01, None) == {
        "model": "mnist",
        "epochs": 3,
        "lr": 0.01,
        "lr_halving_every": None,
    }
    with pytest.raises(ValueError, match="lr must be a positive number, got -1"):
        check_schedule("mnist", 3, -1, None)
    with pytest.raises(ValueError, match="model must be one of"):
        check_schedule("resnet", 3, 0.01, None)
