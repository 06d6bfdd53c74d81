"""The data chapter's experiment: sizes and class balance of the digits and a synthetic subset."""

import pytest

from knnoise.book import parameters
from knnoise.experiments import dataset_summary

VALUES = {"dataset": "digits", "data_path": None, "train_subset": None, "seed": 0}
PARAMS = parameters("data", **VALUES)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KNNOISE_CACHE", str(tmp_path))


def test_sizes_of_the_whole_dataset_and_of_the_part_used():
    result = dataset_summary.run(parameters("data", **{**VALUES, "train_subset": 500}))
    sizes = result.sizes
    assert list(sizes.index) == ["whole dataset", "used here"]
    assert list(sizes["training examples"]) == [1437, 500]
    assert list(sizes["test examples"]) == [360, 360]
    assert set(sizes["example shape"]) == {"(8, 8)"} and set(sizes["stored as"]) == {"uint8"}
    assert result.dataset.n_train == 500 and result.full.n_train == 1437


def test_no_subset_uses_the_whole_dataset():
    result = dataset_summary.run(PARAMS)
    assert result.dataset is result.full


def test_balance_names_the_smallest_and_largest_class_of_each_split():
    result = dataset_summary.run(PARAMS)
    balance = result.balance
    assert list(balance.index) == ["train", "test"]
    for split, row in balance.iterrows():
        share = result.dataset.class_counts(split) / result.dataset.class_counts(split).sum()
        assert row.smallest_share == pytest.approx(share.min())
        assert row.largest_share == pytest.approx(share.max())
        assert row.smallest_share <= row.balanced <= row.largest_share
        assert result.dataset.class_names.index(row.smallest) == share.argmin()
    lines = result.balance_lines()
    assert lines[0].startswith("train: smallest class '") and lines[1].startswith(" test: ")
    assert f"{balance.smallest_share.iloc[0]:.1%}" in lines[0] and "(balanced: 10.0%)" in lines[0]
    quoted = result.quoted()
    assert quoted["train_largest"] == balance.largest.iloc[0] and quoted["balanced"] == pytest.approx(0.1)


def test_feature_datasets_report_their_dimension():
    p = parameters("data", **{**VALUES, "dataset": "synthetic", "train_subset": 100})
    result = dataset_summary.run(p)
    assert result.dataset.n_train == 100 and not result.dataset.is_image
    assert result.sizes["example shape"].iloc[0] == f"({result.full.dim},)"
