"""Every experiment is scored against the trivial model; one that does not beat it is flagged
in the API, on the experiment page, in the lists and on the model card (#13)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.django_db
API = "/api/v1/workspaces/acme"


def _run(api: Any, dataset: Any, target: str, algorithm: str, params: dict,
         on_commit: Any) -> dict:
    with on_commit(execute=True):  # the job is queued on commit and runs inline (Q_SYNC)
        created = api.post(f"{API}/experiments/", {"dataset": dataset.pk, "target": target,
                                                    "algorithm": algorithm, "params": params},
                           format="json")
    assert created.status_code == 201, created.content
    answer = api.get(f"{API}/experiments/{created.json()['id']}/").json()
    assert answer["status"] == "succeeded", answer["error"]
    return answer


def test_a_regression_model_worse_than_the_mean_is_flagged_everywhere(
    api: Any, client_as: Any, alice: Any, make_dataset: Any,
    django_capture_on_commit_callbacks: Any
) -> None:
    rng = np.random.default_rng(0)
    noise = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300),
                          "y": rng.normal(size=300)})
    answer = _run(api, make_dataset(noise, name="noise"), "y", "knn", {"n_neighbors": 1},
                  django_capture_on_commit_callbacks)
    baseline = answer["baseline"]
    assert baseline["strategy"] == "mean" and baseline["metric"] == "r2"
    assert baseline["beaten"] is False
    assert answer["metrics"]["r2"] < baseline["score"]
    page = client_as(alice).get(f"/w/acme/experiments/{answer['id']}/").content.decode()
    assert "Worse than the baseline" in page and "predicting the mean" in page
    assert "worse than baseline" in client_as(alice).get("/w/acme/experiments/").content.decode()
    model = api.get(f"{API}/models/{answer['model']}/").json()
    assert model["baseline"]["beaten"] is False
    card = client_as(alice).get(f"/w/acme/models/{answer['model']}/").content.decode()
    assert 'id="baseline-warning"' in card
    assert 'data-confirm="This model is no better than' in card  # serving asks first
    assert "worse than baseline" in client_as(alice).get("/w/acme/models/").content.decode()


def test_a_good_model_beats_its_baseline_and_is_not_flagged(
    api: Any, client_as: Any, alice: Any, iris: Any, django_capture_on_commit_callbacks: Any
) -> None:
    answer = _run(api, iris, "species", "linear", {}, django_capture_on_commit_callbacks)
    baseline = answer["baseline"]
    assert baseline["strategy"] == "most_frequent" and baseline["beaten"] is True
    assert 0.2 < baseline["metrics"]["accuracy"] < 0.5  # three balanced classes
    assert baseline["metrics"]["roc_auc"] == pytest.approx(0.5)
    page = client_as(alice).get(f"/w/acme/experiments/{answer['id']}/").content.decode()
    assert "Worse than the baseline" not in page and "this model beats it" in page
    card = client_as(alice).get(f"/w/acme/models/{answer['model']}/").content.decode()
    assert 'id="baseline-warning"' not in card and "data-confirm=\"This model" not in card


def test_a_queued_experiment_has_no_baseline_yet(api: Any, iris: Any, alice: Any,
                                                 workspace: Any) -> None:
    from apps.experiments.models import Experiment

    queued = Experiment.objects.create(workspace=workspace, dataset=iris, created_by=alice,
                                       name="q", target="species", task="classification",
                                       algorithm="linear")
    assert api.get(f"{API}/experiments/{queued.pk}/").json()["baseline"] is None


def test_the_leaderboard_reads_as_a_table_of_ranked_candidates(
    client_as: Any, alice: Any, iris: Any, workspace: Any
) -> None:
    from apps.experiments.models import Experiment, Status

    experiment = Experiment.objects.create(
        workspace=workspace, dataset=iris, created_by=alice, name="auto", target="species",
        task="classification", algorithm="auto", status=Status.SUCCEEDED,
        leaderboard=[
            {"rank": 1, "algorithm": "linear", "mean_score": 0.9579707438530969,
             "std_score": 0.02677171608964413, "fit_time_s": 0.094,
             "params": {"C": 1.0, "max_iter": 1000, "class_weight": None}},
            {"rank": 2, "algorithm": "hist_gradient_boosting", "mean_score": 0.9496047307,
             "std_score": 0.0171304077, "fit_time_s": 0.766,
             "params": {"learning_rate": 0.1, "max_depth": None}},
        ])
    page = client_as(alice).get(f"/w/acme/experiments/{experiment.pk}/").content.decode()
    table = page[page.index('id="leaderboard"'):page.index("</table>", page.index(
        'id="leaderboard"'))]
    assert table.count("<th ") == 5  # rank, algorithm, score, fit time, parameters: no repeats
    assert "0.9580" in table and "± 0.0268" in table and "0.9579707" not in table
    assert "Logistic regression" in table or "Linear" in table
    for part in ("C = 1", "max_iter = 1000", "class_weight = none"):  # any key order (jsonb)
        assert part in table
    assert "{&quot;" not in table and '{"' not in table  # no raw JSON
