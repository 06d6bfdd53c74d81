"""knnoise.predict.inputs: what users' code writes is accepted; everything else is a clear error."""

import numpy as np
import pandas as pd
import pytest
import torch

from knnoise import noise
from knnoise.predict.inputs import corruption, corruptions, read_labels, read_measured, read_softmax


@pytest.mark.parametrize("name", ["softmax.npy", "softmax.pt", "softmax.csv"])
def test_float32_softmax_is_accepted_and_renormalised(files, softmax, name):
    rows = read_softmax(files / name)
    assert rows.dtype == np.float64 and rows.shape == softmax.shape
    np.testing.assert_allclose(rows.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(rows, softmax, atol=1e-6)
    # float32 rows sum to 1 only within ~1e-7: off by far more than float64's tolerance of 1e-9
    assert np.abs(softmax.astype(np.float64).sum(axis=1) - 1).max() > 1e-8


def test_float16_and_coarse_text(tmp_path, softmax):
    np.save(tmp_path / "h.npy", softmax.astype(np.float16))
    np.testing.assert_allclose(read_softmax(tmp_path / "h.npy").sum(axis=1), 1.0, atol=1e-15)
    np.savetxt(tmp_path / "p.csv", softmax, delimiter=",", fmt="%.3f")  # rows off by up to L * 5e-4
    np.testing.assert_allclose(read_softmax(tmp_path / "p.csv"), softmax, atol=2e-3)
    np.savetxt(tmp_path / "e.csv", softmax, delimiter=",", fmt="%.5e", header="a,b,c,d", comments="")
    np.testing.assert_allclose(read_softmax(tmp_path / "e.csv"), softmax, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_a_mixed_precision_softmax_is_held_to_its_own_rounding(tmp_path, dtype):
    """bfloat16 (eps 2**-7) and float16 (eps 2**-10) rows from torch.softmax, 1000 classes: accepted as
    saved; rows off by more than their dtype's tolerance are refused, naming the dtype."""
    logits = 3 * torch.randn(50, 1000, generator=torch.Generator().manual_seed(0))
    rows = torch.softmax(logits, dim=1).to(dtype)
    off = (rows.double().sum(dim=1) - 1).abs().max().item()
    assert off > 1e-4  # far outside float32's tolerance (4.8e-4 at L = 1000, 4.8e-5 at L = 100)
    torch.save(rows, tmp_path / "p.pt")
    read = read_softmax(tmp_path / "p.pt")
    np.testing.assert_allclose(read.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    wide = rows.double().numpy()
    np.testing.assert_allclose(read, wide / wide.sum(axis=1, keepdims=True), rtol=1e-15)
    torch.save((rows.float() * 0.97).to(dtype), tmp_path / "low.pt")
    name = str(dtype).removeprefix("torch.")
    with pytest.raises(ValueError, match=rf"low.pt must have rows summing to 1 \(within 0.01 for {name}\)"):
        read_softmax(tmp_path / "low.pt")


def test_rows_summing_to_0_9_are_refused_naming_the_file(tmp_path, softmax):
    exact = softmax.astype(np.float64)
    bad = 0.9 * exact / exact.sum(axis=1, keepdims=True)
    np.save(tmp_path / "low.npy", bad)
    with pytest.raises(ValueError, match=r"^softmax .*low.npy must have rows summing to 1 \(within 1e-09 for "
                       r"float64\), got 0.9 \(row 0\)$"):  # fmt: skip
        read_softmax(tmp_path / "low.npy")
    np.save(tmp_path / "low32.npy", bad.astype(np.float32))
    with pytest.raises(ValueError, match=r"low32.npy must have rows summing to 1 \(within .* for float32\)"):
        read_softmax(tmp_path / "low32.npy")
    np.savetxt(tmp_path / "low.csv", bad, delimiter=",", fmt="%.6f")
    digits = r"\(within 2e-06 for text: the rounding of the digits written, or float32's\), got 0\.(9|8999)"
    with pytest.raises(ValueError, match=r"^softmax .*low.csv must have rows summing to 1 " + digits):
        read_softmax(tmp_path / "low.csv")


def test_negative_entries_and_logits_say_apply_softmax(tmp_path, softmax):
    logits = np.log(softmax)
    np.save(tmp_path / "logits.npy", logits)
    with pytest.raises(ValueError, match=r"logits.npy must be non-negative \(logits\? apply softmax first\)"):
        read_softmax(tmp_path / "logits.npy")
    np.savetxt(tmp_path / "logits.csv", logits, delimiter=",")
    with pytest.raises(ValueError, match=r"logits.csv must be non-negative \(logits\? apply softmax first\)"):
        read_softmax(tmp_path / "logits.csv")
    positive = logits - logits.min() + 0.1  # all positive logits: the sums give them away
    torch.save(torch.tensor(positive), tmp_path / "pos.pt")
    with pytest.raises(
        ValueError, match=r"pos.pt must have rows summing to 1 .*\(logits\? apply softmax first\)"
    ):
        read_softmax(tmp_path / "pos.pt")


def test_a_pandas_index_column_is_named(tmp_path, softmax):
    pd.DataFrame(softmax).to_csv(tmp_path / "indexed.csv")
    with pytest.raises(ValueError, match=r"indexed.csv must hold only probabilities, got an unnamed first "
                       r"column \(a pandas index\? write the file with index=False\)"):  # fmt: skip
        read_softmax(tmp_path / "indexed.csv")
    pd.DataFrame(softmax).to_csv(
        tmp_path / "plain.csv", index=False
    )  # a header 0,1,2,3: numbers, read as data?
    assert read_softmax(tmp_path / "plain.csv").shape in ((60, 4), (61, 4))


def test_softmax_shapes(tmp_path, softmax):
    np.save(tmp_path / "row.npy", softmax[0])
    with pytest.raises(ValueError, match=r"softmax .*row.npy must be an \(M, L\) array, one row per example "
                       r"and L >= 2 classes, got shape \(4,\)"):  # fmt: skip
        read_softmax(tmp_path / "row.npy")
    np.save(tmp_path / "one.npy", np.ones((5, 1)))
    with pytest.raises(ValueError, match=r"got shape \(5, 1\)"):
        read_softmax(tmp_path / "one.npy")


def test_labels_one_per_line_a_column_or_an_array(tmp_path, files, labels):
    np.testing.assert_array_equal(read_labels(files / "labels.csv", n_rows=60, n_labels=4), labels)
    np.testing.assert_array_equal(read_labels(files / "labels.npy"), labels)
    np.save(tmp_path / "col.npy", labels[:, None].astype(np.float32))  # (M, 1), integral floats
    np.testing.assert_array_equal(read_labels(tmp_path / "col.npy"), labels)
    pd.DataFrame({"id": range(60), "label": labels}).to_csv(tmp_path / "t.csv", index=False)
    np.testing.assert_array_equal(read_labels(f"{tmp_path / 't.csv'}:label", n_rows=60), labels)
    one = (
        r"labels .*t.csv must be one label per row \(one per line, or a column picked with FILE.csv:COLUMN\)"
    )
    with pytest.raises(ValueError, match=one + r", got shape \(60, 2\)"):
        read_labels(tmp_path / "t.csv")


def test_labels_out_of_range_wrong_count_not_integers(tmp_path, files, labels):
    with pytest.raises(ValueError, match=r"^labels .*labels.npy must be labels in 0..2 \(L = 3\), got 3$"):
        read_labels(files / "labels.npy", n_labels=3)
    np.save(tmp_path / "neg.npy", np.array([0, -1]))
    with pytest.raises(ValueError, match=r"neg.npy must be labels >= 0, got -1"):
        read_labels(tmp_path / "neg.npy")
    count = r"^labels .*labels.csv must be 61 labels, one per row of the softmax, got 60 labels$"
    with pytest.raises(ValueError, match=count):
        read_labels(files / "labels.csv", n_rows=61)
    np.save(tmp_path / "half.npy", np.array([1.0, 2.5]))
    whole = r"half.npy must be integer labels \(whole numbers such as 2 or 2.0\), got 2.5 \(row 1\)$"
    with pytest.raises(TypeError, match=whole):
        read_labels(tmp_path / "half.npy")


def test_named_noise_models():
    name, P = corruption("flip", 4)
    assert name == "flip"
    np.testing.assert_array_equal(P, noise.flip(4))
    models = corruptions(["uniform", "symmetric"], 4)
    assert list(models) == ["uniform", "symmetric"]
    np.testing.assert_array_equal(models["symmetric"], noise.symmetric(4))
    assert list(corruptions({"mine": noise.flip(4)}, 4)) == ["mine"]
    assert list(corruptions(noise.flip(4), 4)) == ["matrix"]


def test_unknown_noise_name():
    with pytest.raises(ValueError, match=r"^noise must be one of \('uniform', 'symmetric', 'flip'\) or a "
                       r"corruption-matrix file \(.npy, .npz, .csv, .pt\), got 'unifrom'$"):  # fmt: skip
        corruption("unifrom", 4)
    with pytest.raises(ValueError, match=r"^noise\[1\] must be one of"):
        corruptions(["flip", "nope"], 4)
    with pytest.raises(ValueError, match=r"noise must be distinct noise models, got \['flip', 'flip'\]"):
        corruptions(["flip", "flip"], 4)


def test_matrix_files(tmp_path):
    P = noise.general(4, seed=3)
    np.save(tmp_path / "P.npy", P.astype(np.float32))
    name, read = corruption(str(tmp_path / "P.npy"), 4)
    assert name == "P.npy"
    np.testing.assert_allclose(read, P, atol=1e-6)
    np.testing.assert_allclose(read.sum(axis=1), 1.0, atol=1e-15)
    np.savetxt(tmp_path / "P.csv", P, delimiter=",", fmt="%.4f")
    np.testing.assert_allclose(corruption(str(tmp_path / "P.csv"), 4)[1], P, atol=5e-4)
    with pytest.raises(
        ValueError, match=r"noise .*P.npy must be a \(5, 5\) matrix to match L = 5, got shape"
    ):
        corruption(str(tmp_path / "P.npy"), 5)
    np.save(tmp_path / "Q.npy", P * 0.9)
    with pytest.raises(ValueError, match=r"Q.npy must have rows summing to 1 .*row-stochastic matrix"):
        corruption(str(tmp_path / "Q.npy"), 4)
    with pytest.raises(ValueError, match=r"noise must be an existing file, got .*gone.npy"):
        corruption(str(tmp_path / "gone.npy"), 4)


def test_measured_files_frames_and_pairs(tmp_path):
    (tmp_path / "m.csv").write_text("gamma,accuracy\n0,0.99\n0.5,0.9\n0.5,0.92\n")
    frame = read_measured(tmp_path / "m.csv")
    assert list(frame.columns) == ["gamma", "accuracy"] and len(frame) == 3
    (tmp_path / "swapped.csv").write_text("Accuracy,Gamma\n0.99,0\n")
    assert read_measured(tmp_path / "swapped.csv").gamma.tolist() == [0.0]
    (tmp_path / "plain.txt").write_text("0 0.99\n0.5 0.9\n")
    assert read_measured(tmp_path / "plain.txt").accuracy.tolist() == [0.99, 0.9]
    assert read_measured([(0.0, 0.99), (0.5, 0.9)]).gamma.tolist() == [0.0, 0.5]
    assert len(read_measured(pd.DataFrame({"gamma": [0.1], "accuracy": [0.5], "seed": [0]}))) == 1


def test_measured_errors(tmp_path):
    (tmp_path / "pct.csv").write_text("gamma,accuracy\n0,99\n")
    with pytest.raises(ValueError, match=r"measured .*pct.csv: accuracy \(row 0\) must be in \[0, 1\] \(a "
                       r"fraction, not a percentage\), got 99.0"):  # fmt: skip
        read_measured(tmp_path / "pct.csv")
    with pytest.raises(ValueError, match=r"measured: gamma \(row 0\) must be a number in \[0, 1\], got 1.5"):
        read_measured([(1.5, 0.5)])
    (tmp_path / "three.csv").write_text("0,0.9,1\n")
    with pytest.raises(ValueError, match=r"three.csv must be gamma,accuracy rows .*, got shape \(1, 3\)"):
        read_measured(tmp_path / "three.csv")
    with pytest.raises(ValueError, match=r"measured must be a DataFrame with columns gamma and accuracy, got "
                       r"columns \['g'\]"):  # fmt: skip
        read_measured(pd.DataFrame({"g": [0.1]}))
