"""Issue 21: ``knnoise predict`` on the files practitioners have — one CSV with class columns and a label
column, a tidy measured table for several noise models, an honest effective-K fit, machine-readable
outputs, and a Python API giving the CLI's numbers."""

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch

from knnoise import noise, predict
from knnoise.__main__ import main
from knnoise.theory import expected_accuracy

LEVELS = [0.0, 0.2, 0.4, 0.6, 0.8]


def _run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["predict", *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture()
def preds(tmp_path, softmax, labels):
    """One CSV as a practitioner exports it: p0..p3 probabilities (6 decimals) and a label column."""
    frame = pd.DataFrame(softmax, columns=[f"p{i}" for i in range(4)]).round(6)
    frame["label"] = labels
    frame.to_csv(tmp_path / "preds.csv", index=False)
    return tmp_path


def _measured(softmax, labels, true_k: dict[str, int], repeats: int = 1) -> pd.DataFrame:
    """A tidy noise,gamma,accuracy,repeat table: each noise model's curve at its own K."""
    rows = []
    for name, k in true_k.items():
        curve = expected_accuracy(softmax, labels, LEVELS, getattr(noise, name)(4), [k])[:, 0]
        rows += [(name, g, a, r) for g, a in zip(LEVELS, curve, strict=True) for r in range(repeats)]
    return pd.DataFrame(rows, columns=["noise", "gamma", "accuracy", "repeat"])


# 1. inputs -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "softmax_args",
    [["{d}/preds.csv:p0-p3"], ["{d}/preds.csv:p0,p1,p2,p3"], ["{d}/preds.csv", "--class-columns", "p"],
     ["{d}/preds.csv", "--class-columns", "p0-p3"]],
)  # fmt: skip
def test_one_csv_with_probabilities_and_a_label_column(preds, capsys, softmax, labels, softmax_args):
    args = [a.format(d=preds) for a in softmax_args]
    status, out, err = _run(capsys, "--softmax", *args, "--labels", f"{preds}/preds.csv:label", "--noise",
                            "flip", "--gammas", "0,0.5", "--ks", "1", "3", "--no-progress")  # fmt: skip
    assert status == 0, err
    assert re.search(r"softmax .*preds.csv:p0?.*: 60 test examples x 4 classes", out), out
    expected = expected_accuracy(softmax, labels, [0.0, 0.5], noise.flip(4), [1, 3])
    assert f"{expected[1, 1]:.4f}" in out


def test_the_whole_csv_names_the_extra_label_column(preds, capsys):
    status, out, err = _run(capsys, "--softmax", f"{preds}/preds.csv", "--labels", f"{preds}/preds.csv:label",
                            "--noise", "flip")  # fmt: skip
    assert status == 2 and out == "" and err.count("\n") == 1
    assert "must hold only the class probabilities (rows summing to 1), got 1 extra column ('label': " in err
    assert "integers 0..3, like labels" in err and "preds.csv:p0-p3 (or --class-columns p)" in err
    assert "--labels " in err and "logits" not in err


def test_sums_off_tell_extra_columns_logits_and_rounding(tmp_path, softmax):
    confidence = np.column_stack([softmax, softmax.max(axis=1)])  # a confidence column, in [0, 1]
    np.savetxt(tmp_path / "conf.csv", confidence, delimiter=",", fmt="%.6f")
    with pytest.raises(ValueError, match=r"got 1 extra column \(4 \(0-based\): values .*\): pick the 4 "
                       r"probability columns with .*conf.csv:0-3"):  # fmt: skip
        predict.read_softmax(tmp_path / "conf.csv")
    np.save(tmp_path / "logits.npy", np.log(softmax) + 5.0)  # positive logits
    with pytest.raises(ValueError, match=r"\(logits\? apply softmax first\)"):
        predict.read_softmax(tmp_path / "logits.npy")
    np.savetxt(tmp_path / "two.csv", softmax, delimiter=",", fmt="%.2f")  # 2 decimals: off by up to 0.02
    rounded = np.loadtxt(tmp_path / "two.csv", delimiter=",")
    np.save(tmp_path / "two.npy", rounded)
    with pytest.raises(ValueError, match=r"probabilities off by rounding \(row sums .*\): write them with "
                       r"more digits, or divide each row by its sum"):  # fmt: skip
        predict.read_softmax(tmp_path / "two.npy")
    with pytest.raises(ValueError, match=r"softmax must name a column of .*, got 'q0'"):
        predict.read_softmax(f"{tmp_path}/conf.csv:q0-q3")


# 2. measured as a tidy table ----------------------------------------------------------------------------
def test_each_noise_model_is_fitted_to_its_own_rows(preds, capsys, softmax, labels):
    _measured(softmax, labels, {"uniform": 3, "flip": 9}, repeats=2).to_csv(preds / "m.csv", index=False)
    status, out, err = _run(capsys, "--softmax", f"{preds}/preds.csv:p0-p3", "--labels",
                            f"{preds}/preds.csv:label", "--noise", "uniform", "flip", "symmetric",
                            "--gammas", "0,0.5", "--ks", "1", "--measured", str(preds / "m.csv"),
                            "--no-progress")  # fmt: skip
    assert status == 0, err
    assert re.search(
        r"effective K, uniform noise: 3 \(90% interval 3-3\), rms error 0.0000 over 5 measured", out
    )
    assert re.search(r"effective K, flip noise: 9 \(90% interval 9-9\)", out)
    assert "symmetric noise:" in out and "effective K, symmetric" not in out  # no rows: no fit
    assert err == ""


def test_measured_table_errors(preds, capsys, softmax, labels):
    base = ["--softmax", f"{preds}/preds.csv:p0-p3", "--labels", f"{preds}/preds.csv:label", "--gammas", "0"]
    _measured(softmax, labels, {"uniform": 3, "symmetric": 5}).to_csv(preds / "m.csv", index=False)
    status, out, err = _run(capsys, *base, "--noise", "uniform", "--measured", str(preds / "m.csv"))
    assert status == 2 and out == ""
    assert re.fullmatch(r"error: --measured .*m.csv: noise \(row 5\) must be one of the noise models asked "
                        r"for \('uniform',\), got 'symmetric'\n", err), err  # fmt: skip
    (preds / "old.csv").write_text("gamma,accuracy\n0,0.9\n0.5,0.6\n")
    status, out, err = _run(capsys, *base, "--noise", "uniform", "flip", "--measured", str(preds / "old.csv"))
    assert status == 2 and "must be a tidy noise,gamma,accuracy table when several noise models" in err
    status, out, err = _run(capsys, *base, "--noise", "flip", "--measured", str(preds / "old.csv"),
                            "--no-progress")  # fmt: skip
    assert status == 0 and "effective K, flip noise: " in out, err  # the old two-column form, one --noise


# 3. an honest fit -------------------------------------------------------------------------------------
def test_the_default_search_reaches_beyond_the_asked_k(softmax, labels):
    measured = _measured(softmax, labels, {"flip": 11})
    result = predict.predict(softmax, labels, "flip", [0.0, 0.5], [1, 3], measured=measured)
    fit = result.fit["flip"]
    assert fit.k == 11 and fit.edge is None and fit.ks.max() == 201
    assert fit.departure() is None and result.edge_warnings() == []


def test_a_best_k_on_the_edge_warns(preds, capsys, softmax, labels):
    _measured(softmax, labels, {"flip": 11}).to_csv(preds / "m.csv", index=False)
    status, out, err = _run(capsys, "--softmax", f"{preds}/preds.csv:p0-p3", "--labels",
                            f"{preds}/preds.csv:label", "--noise", "flip", "--gammas", "0", "--ks", "1",
                            "--measured", str(preds / "m.csv"), "--fit-ks", "1:5", "--json",
                            str(preds / "fit.json"), "--no-progress")  # fmt: skip
    assert status == 0, err
    assert err == ("warning: the effective K of flip noise (5) is the largest K searched (5): the best K "
                   "may lie beyond it; widen the search (--fit-ks / fit_ks)\n")  # fmt: skip
    fit = json.loads((preds / "fit.json").read_text())["fits"]["flip"]
    assert fit["K"] == 5 and fit["at_edge"] is True and fit["edge"] == "upper" and fit["fit_ks"] == [1, 5]


def test_where_the_measurements_depart_from_every_k(softmax, labels):
    measured = _measured(softmax, labels, {"uniform": 5})
    measured.loc[measured.gamma >= 0.6, "accuracy"] -= 0.15  # collapses faster than any K curve
    result = predict.predict(softmax, labels, "uniform", [0.0, 0.5], [1], measured=measured)
    low, high, worst = result.fit["uniform"].departure()
    assert worst > 0.02 and low <= 0.6 and high == 0.8
    assert "the measurements depart from every K curve, most at gamma" in result.fit_text("uniform")
    record = result.fit_record("uniform")
    assert record["departure"]["gammas"] == [low, high] and len(record["residuals"]) == len(LEVELS)


def test_a_dataframe_with_a_label_column(softmax, labels):
    frame = pd.DataFrame(softmax, columns=[f"p{i}" for i in range(4)]).assign(label=labels)
    got = predict.predict(frame, "label", noise="flip", gammas=[0, 0.5], ks=[1, 3], class_columns="p0-p3")
    expected = predict.predict(softmax, labels, noise="flip", gammas=[0, 0.5], ks=[1, 3])
    pd.testing.assert_frame_equal(got.curves, expected.curves, check_exact=True)
    with pytest.raises(ValueError, match=r"softmax must hold only the class probabilities .*'label': .*"
                       r"with class_columns='p0-p3', and the labels with labels='label'$"):  # fmt: skip
        predict.predict(frame, labels, noise="flip", gammas=[0], ks=[1])
    with pytest.raises(ValueError, match=r"labels must be a column of softmax \['p0', .*\], got 'y'"):
        predict.predict(frame, "y", noise="flip", gammas=[0], ks=[1], class_columns="p")


# 4. machine-readable results, 5. the API twin -------------------------------------------------------
def test_out_json_and_the_api_give_the_same_numbers(preds, capsys, softmax, labels):
    _measured(softmax, labels, {"uniform": 3, "flip": 9}).to_csv(preds / "m.csv", index=False)
    status, out, err = _run(capsys, "--softmax", f"{preds}/preds.csv", "--class-columns", "p",
                            "--labels", f"{preds}/preds.csv:label", "--noise", "uniform", "flip",
                            "--gammas", "0:1:0.25", "--ks", "1", "5", "--measured", str(preds / "m.csv"),
                            "--out", str(preds / "curves.csv"), "--json", str(preds / "fit.json"),
                            "--no-progress")  # fmt: skip
    assert status == 0, err
    curves = pd.read_csv(preds / "curves.csv")
    assert list(curves.columns) == ["noise", "gamma", "K", "accuracy", "curve"]
    fitted = curves[curves.curve == "fitted"]
    assert dict(fitted.groupby("noise").K.first()) == {"flip": 9, "uniform": 3} and len(fitted) == 10
    document = json.loads((preds / "fit.json").read_text())
    assert document["fits"]["uniform"]["K"] == 3 and document["fits"]["flip"]["interval"] == [9, 9]

    rows = predict.read_softmax(preds / "preds.csv", columns="p")  # the same file, read as the CLI does
    api = predict.predict(
        rows,
        pd.read_csv(preds / "preds.csv").label,
        noise=["uniform", "flip"],
        gammas=[0, 0.25, 0.5, 0.75, 1],
        ks=[1, 5],
        measured=pd.read_csv(preds / "m.csv"),
    )
    pd.testing.assert_frame_equal(api.all_curves, curves, check_exact=True)
    assert api.to_json()["fits"] == document["fits"]
    tensors = predict.predict(
        torch.tensor(rows),
        torch.tensor(labels),
        noise=["uniform", "flip"],
        gammas=[0, 0.25, 0.5, 0.75, 1],
        ks=[1, 5],
        measured=preds / "m.csv",
    )
    pd.testing.assert_frame_equal(tensors.all_curves, curves, check_exact=True)
    assert api.plot().axes


def test_out_json_writes_the_document(preds, capsys):
    status, out, err = _run(capsys, "--softmax", f"{preds}/preds.csv:p0-p3", "--labels",
                            f"{preds}/preds.csv:label", "--noise", "flip", "--gammas", "0,1", "--ks", "1",
                            "--out", str(preds / "r.json"), "--no-progress")  # fmt: skip
    assert status == 0, err
    document = json.loads((preds / "r.json").read_text())
    assert (
        document["fits"] == {} and len(document["curves"]) == 2 and document["curves"][0]["curve"] == "asked"
    )
    assert "wrote " in out and "r.json (fits: no measurements; 2 curve points)" in out
    status, out, err = _run(capsys, "--softmax", f"{preds}/preds.csv:p0-p3", "--labels",
                            f"{preds}/preds.csv:label", "--noise", "flip", "--out", str(preds / "r.json"),
                            "--json", str(preds / "r.json"))  # fmt: skip
    assert status == 2 and "error: --json must be another file than --out, got" in err


def test_export_helpers_sklearn_and_torch(tmp_path, softmax, labels):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = np.eye(4)[labels] + rng.normal(0, 0.5, (len(labels), 4))
    names = np.array(["a", "b", "c", "d"])[labels]  # the classifier's own class values
    classifier = LogisticRegression().fit(X, names)
    probs, y = predict.softmax_from_sklearn(classifier, X, names)
    assert probs.shape == (60, 4) and np.array_equal(y, labels)
    with pytest.raises(ValueError, match=r"y must be values among the classifier's classes .*, got 'z'"):
        predict.softmax_from_sklearn(classifier, X, np.array(["z"] * 60))

    model = torch.nn.Linear(4, 4)
    data = torch.utils.data.TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(labels))
    model.train()
    probs, y = predict.softmax_from_torch(model, torch.utils.data.DataLoader(data, batch_size=16))
    assert model.training and probs.shape == (60, 4) and probs.dtype == np.float32
    np.testing.assert_array_equal(y, labels)
    predict.to_frame(probs, y).to_csv(tmp_path / "preds.csv", index=False)
    again = predict.read_softmax(f"{tmp_path}/preds.csv:p0-p3")
    np.testing.assert_allclose(again, probs, atol=1e-6)


def test_an_empty_tidy_table_is_an_error(tmp_path):
    (tmp_path / "m.csv").write_text("noise,gamma,accuracy\n")
    with pytest.raises(
        ValueError, match=r"measured .*m.csv must be at least one measurement \(gamma, accuracy\)"
    ):
        predict.read_measured(tmp_path / "m.csv")
