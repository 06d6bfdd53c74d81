"""knnoise.book.claims: the intro's claims table is generated from what the chapters recorded."""

import json

import pytest

from knnoise.book.claims import RESULTS_ENV, record, results_markdown, write_results_page


def test_record_is_a_no_op_outside_the_runner(monkeypatch, tmp_path):
    monkeypatch.delenv(RESULTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert record("fig3_knn", "claim", "paper", "measured") is None
    assert not list(tmp_path.rglob("*.json"))


def test_rows_are_replaced_by_key_and_rendered_in_chapter_order(tmp_path, monkeypatch):
    monkeypatch.setenv(RESULTS_ENV, str(tmp_path))
    record("fig4_dnn", "DNN claim", "Fig. 4", "0.9")
    record("fig3_knn", "K-NN claim", "Fig. 3", "gap 0.05 | old")
    record("fig3_knn", "K-NN claim", "Fig. 3", "gap 0.01")  # replaces the row
    table = results_markdown(tmp_path, ["fig3_knn", "fig4_dnn"], "/book/executed/")
    lines = table.strip().splitlines()
    assert len(lines) == 4
    assert "gap 0.01" in lines[2] and "old" not in table
    assert lines[2].endswith("{doc}`/book/executed/fig3_knn` |") and "DNN claim" in lines[3]
    page = write_results_page(tmp_path, tmp_path / "out" / "results.md", ["fig3_knn"], "/x/")
    assert page.read_text().count("\n") == 3


def test_rows_keep_their_json_format(tmp_path, monkeypatch):
    monkeypatch.setenv(RESULTS_ENV, str(tmp_path))
    record("fig3_knn", "claim", "paper", "measured", key="k")
    text = (tmp_path / "fig3_knn.json").read_text()
    assert text == json.dumps(
        [{"key": "k", "claim": "claim", "paper": "paper", "measured": "measured"}], indent=1
    )


def test_a_damaged_results_file_is_dropped_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv(RESULTS_ENV, str(tmp_path))
    (tmp_path / "fig3_knn.json").write_text("[{")
    with pytest.warns(UserWarning, match="damaged"):
        assert "No results recorded yet" in results_markdown(tmp_path, ["fig3_knn"], "/")
    record("fig3_knn", "claim", "paper", "measured")
    assert len(json.loads((tmp_path / "fig3_knn.json").read_text())) == 1


def test_empty_table_says_how_to_fill_it(tmp_path):
    assert "No results recorded yet" in results_markdown(tmp_path, ["fig3_knn"], "/")
