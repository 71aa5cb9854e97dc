"""Compare runs of one task: best per metric, honest bars, what differs, plots beside (#13)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from apps.experiments.models import Experiment, Status

pytestmark = pytest.mark.django_db


def _run(workspace: Any, dataset: Any, user: Any, name: str, task: str, metrics: dict,
         config: dict, plots: list | None = None) -> Experiment:
    return Experiment.objects.create(
        workspace=workspace, dataset=dataset, created_by=user, name=name, target="y", task=task,
        algorithm=config.get("algorithm", "linear"), status=Status.SUCCEEDED, metrics=metrics,
        config=config, plots=plots or [])


def test_compare_marks_the_best_says_the_direction_and_never_draws_a_bad_r2_full(
    client_as: Any, alice: Any, workspace: Any, iris: Any
) -> None:
    good = _run(workspace, iris, alice, "good", "regression", {"r2": 0.45, "mae": 43.0},
                {"algorithm": "ridge", "params": {"alpha": 1.0},
                 "validation": {"cv_folds": 5}},
                plots=[{"name": "residuals", "file": "x.png"}])
    bad = _run(workspace, iris, alice, "bad", "regression", {"r2": -4.24, "mae": 158.0},
               {"algorithm": "linear", "params": {"fit_intercept": False},
                "validation": {"cv_folds": 5}},
               plots=[{"name": "residuals", "file": "y.png"}])
    other = _run(workspace, iris, alice, "clf", "classification", {"accuracy": 0.9}, {})
    page = client_as(alice).get("/w/acme/experiments/", {"compare": [good.pk, bad.pk,
                                                                      other.pk]})
    html = page.content.decode()
    compare = html[html.index('id="compare"'):html.index("</article>")]
    assert "Left out, another task than regression: clf" in compare
    rows = {m.group(1): m.group(0) for m in re.finditer(
        r"<tr><th scope=\"row\">(\w+).*?</tr>", compare, re.S)}
    assert "higher is better" in rows["r2"] and "lower is better" in rows["mae"]
    assert "<strong>0.4500</strong>" in rows["r2"] and "<strong>43.0000</strong>" in rows["mae"]
    header = compare[:compare.index("</thead>")]
    order = ["good" if header.index(">good<") < header.index(">bad<") else "bad"]
    order.append("bad" if order[0] == "good" else "good")
    bars = dict(zip(order, re.findall(r'style="width: (\d+)px"', rows["r2"]), strict=True))
    assert bars == {"good": "100", "bad": "0"}  # R² -4.24 gets no bar, not a full one
    errors = dict(zip(order, re.findall(r'style="width: (\d+)px"', rows["mae"]), strict=True))
    assert errors == {"good": "100", "bad": "27"}  # 43 / 158 of the best
    diff = compare[compare.index('id="compare-diff"'):]
    assert "params.alpha" in diff and "params.fit_intercept" in diff and "algorithm" in diff
    assert "validation.cv_folds" not in diff  # the same in both: not a difference
    assert compare.count('alt="residuals of') == 2


def test_the_export_keeps_every_task(client_as: Any, alice: Any, workspace: Any,
                                     iris: Any) -> None:
    _run(workspace, iris, alice, "r", "regression", {"r2": 0.5}, {})
    _run(workspace, iris, alice, "c", "classification", {"accuracy": 0.9}, {})
    text = client_as(alice).get("/w/acme/experiments/", {"export": "csv"}).content.decode()
    assert "regression" in text and "classification" in text
