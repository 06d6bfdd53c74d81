"""The interactive charts (Vega-Lite via Altair): their controls, data and HTML, without a browser."""

from __future__ import annotations

import functools
import json
import re

import numpy as np
import pandas as pd
import pytest

from knnoise.experiments import explorer
from knnoise.plots import interactive

GAMMAS = np.linspace(0.0, 1.0, 5)
KS = [1, 2, 3]


@functools.cache
def _grid() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A small explorer grid from the real solver: two ideal sources and a K-dependent one."""
    found = [explorer.ideal(4, 1.0), explorer.ideal(4, 0.7)]
    rng = np.random.default_rng(0)
    hoods = rng.dirichlet(np.ones(4), size=(len(KS), 6))
    found.append(explorer.Source("knn", "K-NN", hoods, hoods[-1].argmax(axis=1)))
    grid = explorer.grid(found, GAMMAS, KS)
    return grid, explorer.limit(found, GAMMAS), explorer.thresholds(4)


@pytest.fixture(scope="module")
def built():
    grid, limit, marks = _grid()
    return grid, interactive.spec(interactive.explorer_chart(grid, limit, marks, GAMMAS))


def _walk(node):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_explorer_grid_is_complete_and_finite(built) -> None:
    grid, _ = built
    assert len(grid) == 3 * 3 * 3 * len(KS) * len(GAMMAS)
    assert grid.accuracy.between(0.0, 1.0).all()
    clean = grid[(grid.gamma == 0) & (grid.confidence == 1.0)]
    assert np.allclose(clean.accuracy, 1.0)  # a one-hot C_s without noise is always right
    flip = grid[(grid.noise == "flip") & (grid.gamma == 1.0) & (grid.confidence == 1.0) & (grid.K == 3)]
    assert np.allclose(flip.accuracy, 0.0)  # every label flipped: the true one never wins


def test_explorer_controls_are_bound_params(built) -> None:
    _, spec = built
    params = {p["name"]: p for p in spec["params"]}
    assert list(params) == ["clean", "confidence", "noise", "ties", "K"]  # the inputs in this order
    assert params["K"]["bind"] == {"input": "range", "min": 1, "max": 3, "step": 1, "name": "K "}
    assert params["noise"]["bind"]["options"] == ["uniform", "flip", "general"]
    assert params["ties"]["bind"]["options"] == ["strict", "random", "lowest"]
    assert params["clean"]["bind"]["options"] == ["ideal", "knn"]
    assert params["confidence"]["bind"]["input"] == "range"  # 0.7 and 1.0: evenly spaced
    filters = [t["filter"] for t in _walk(spec) if isinstance(t, dict) and isinstance(t.get("filter"), str)]
    assert any("datum.k == K" in f and "datum.t == ties" in f and "datum.n == noise" in f for f in filters)


def test_explorer_data_is_compact_and_has_no_nan(built) -> None:
    grid, spec = built
    datasets = [n["values"] for n in _walk(spec) if isinstance(n, dict) and isinstance(n.get("values"), list)]
    curves = max(datasets, key=len)
    assert len(curves) == len(grid) // len(GAMMAS)
    assert all(len(row["a"]) == len(GAMMAS) for row in curves)
    assert all(isinstance(v, int) and 0 <= v <= interactive.SCALE for row in curves for v in row["a"])
    text = json.dumps(spec, allow_nan=False)  # raises on NaN or infinity
    assert "NaN" not in text


def test_explorer_records_round_trip() -> None:
    grid, _, _ = _grid()
    records = interactive.explorer_records(grid, GAMMAS)
    row = next(
        r for r in records if r["s"] == "knn" and r["n"] == "uniform" and r["t"] == "lowest" and r["k"] == 2
    )
    expected = grid[
        (grid.source == "knn") & (grid.noise == "uniform") & (grid.ties == "lowest") & (grid.K == 2)
    ]
    assert np.allclose(
        np.array(row["a"]) / interactive.SCALE, expected.accuracy, atol=0.5 / interactive.SCALE
    )
    with pytest.raises(ValueError, match="misses noise levels"):
        interactive.explorer_records(grid, np.append(GAMMAS, 0.6))


def test_explorer_rejects_uneven_gammas() -> None:
    grid, limit, marks = _grid()
    with pytest.raises(ValueError, match="evenly spaced from 0"):
        interactive.explorer_chart(grid, limit, marks, [0.0, 0.1, 0.5])


def _fig3_panels():
    g = np.array([0.0, 0.5, 0.9])
    table = np.array([[0.9, 0.95], [0.6, 0.8], [0.2, 0.3]])
    measured = (table + 0.01, np.full_like(table, 0.02))
    return {name: (g, {"analytic, lowest ties": table, "analytic, strict (paper)": table - 0.05}, measured)
            for name in ("uniform noise", "flip noise")}  # fmt: skip


def test_fig3_chart_has_legend_toggle_tooltips_and_tidy_data() -> None:
    frame = interactive.fig3_frame(_fig3_panels(), [1, 5])
    assert len(frame) == 2 * (2 + 1) * 2 * 3  # panels x (2 curves + measured) x K x gammas
    assert not frame.isna().any().any()
    spec = interactive.spec(interactive.fig3_chart(_fig3_panels(), [1, 5], title="t"))
    params = list(_walk(spec))
    assert any(isinstance(p, dict) and p.get("bind") == "legend" for p in params)
    assert any(isinstance(p, dict) and "tooltip" in p for p in params)
    assert spec["facet"]["column"]["sort"] == ["uniform noise", "flip noise"]


def test_fig4_chart_series_and_colours() -> None:
    grid = np.linspace(0.0, 1.0, 5)
    curves = np.tile(np.linspace(1.0, 0.0, 5)[:, None], (1, 2))
    spread = {"measured": ([0.0, 0.5], [0.9, 0.7], [0.01, np.nan]), "gammas": grid, "curves": curves,
              "fitted": curves[:, 0]}  # fmt: skip
    panels = {"uniform noise": spread, "concentrated noise": {"measured": ([0.2], [0.78], [0.0])}}
    frame = interactive.fig4_frame(panels, [1, 5])
    assert not frame.isna().any().any()  # a network's missing sd (one network) becomes 0
    assert list(dict.fromkeys(frame.series)) == [
        "K = 1", "K = 5", "effective K (fitted)", "networks (this run)", "1 − γ (the paper)"]  # fmt: skip
    spec = interactive.spec(interactive.fig4_chart(panels, [1, 5]))
    scale = next(n["scale"] for n in _walk(spec) if isinstance(n, dict) and n.get("field") == "series"
                 and "scale" in n)  # fmt: skip
    assert scale["range"][2:4] == ["#d62728", "#000000"]


def test_html_embeds_the_spec_safely() -> None:
    grid, limit, marks = _grid()
    chart = interactive.explorer_chart(grid, limit, marks, GAMMAS, title="</script><b>x")
    out = interactive.html(chart, "explorer").data
    assert f'class="{interactive.MARKER_CLASS}"' in out
    assert out.count("</script>") == 1  # the title's "</script>" is escaped inside the JSON
    assert "window.knnoiseCharts" in out and "vegaEmbed" in out
    body = re.search(r"<script>(.*)</script>", out, re.S).group(1)
    assert "knnoise-chart-explorer" in body
    with pytest.raises(ValueError, match="name must be an id"):
        interactive.html(chart, "bad id")


def test_ideal_source_checks_confidence() -> None:
    src = explorer.ideal(5, 0.6)
    assert np.allclose(src.clean.sum(axis=1), 1.0) and np.allclose(np.diag(src.clean), 0.6)
    with pytest.raises(ValueError, match="confidence must be in"):
        explorer.ideal(5, 0.2)


def test_thresholds_are_where_the_one_hot_limit_first_drops() -> None:
    gammas = np.linspace(0.0, 1.0, 2001)  # steps of 5e-4
    marks = explorer.thresholds(10).set_index("noise").gamma
    limit = explorer.limit([explorer.ideal(10, 1.0)], gammas).set_index(["noise", "gamma"]).accuracy
    for noise in ("flip", "general"):
        below = gammas[limit[noise].to_numpy() < 1.0]
        assert marks[noise] <= below[0] < marks[noise] + 5e-4  # the first level a true label loses
        assert limit[noise][gammas[gammas < marks[noise]]].eq(1.0).all()
    assert limit["uniform"][gammas[gammas < 1.0]].eq(1.0).all()  # uniform: the true label leads to the end,
    assert marks["uniform"] < 1.0  # so the paper's "drop near 90%" is a finite-K statement, marked below 1


def test_explorer_without_an_ideal_source_has_no_confidence_control() -> None:
    grid, limit, marks = _grid()
    spec = interactive.spec(
        interactive.explorer_chart(grid[grid.source == "knn"], limit[limit.source == "knn"], marks, GAMMAS)
    )
    assert {p["name"] for p in spec["params"]} == {"clean", "noise", "ties", "K"}
    assert "confidence" not in json.dumps(spec).replace('"confidence"', "")  # no expression uses it


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda g: g.iloc[:0], ValueError, "grid must have at least one row"),
        (lambda g: g.drop(columns="ties"), ValueError, r"grid must have the columns .* lacks \['ties'\]"),
        (lambda g: g.to_dict("records"), TypeError, "grid must be a pandas DataFrame"),
        (lambda g: g.assign(source="mystery"), ValueError, r"grid: source must be one of"),
    ],
)
def test_explorer_chart_rejects_a_bad_grid(change, error, match) -> None:
    grid, limit, marks = _grid()
    with pytest.raises(error, match=match):
        interactive.explorer_chart(change(grid), limit, marks, GAMMAS)
    with pytest.raises(error, match=match):
        interactive.explorer_records(change(grid), GAMMAS)


def test_explorer_checks_limit_and_thresholds_too() -> None:
    grid, limit, marks = _grid()
    with pytest.raises(ValueError, match="limit must have the columns"):
        interactive.explorer_chart(grid, limit.drop(columns="accuracy"), marks, GAMMAS)
    with pytest.raises(TypeError, match="thresholds must be a pandas DataFrame"):
        interactive.explorer_chart(grid, limit, None, GAMMAS)


def test_explorer_records_name_nan_accuracies() -> None:
    grid, _, _ = _grid()
    with pytest.raises(ValueError, match="has NaN accuracies"):
        interactive.explorer_records(grid.assign(accuracy=grid.accuracy.where(grid.K != 2)), GAMMAS)
