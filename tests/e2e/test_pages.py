"""The pages' answers to #13, in Chromium: flagged bad models, the default target, viewers'
read-only form, Try it's filled-in inputs and API call, the phone menu, the product's 404.

Objects are made directly (a trained model registered in-process, a dataset with its
profile); the browser then reads and uses the pages as a person would.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.e2e.conftest import login, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.integration]
PASSWORD = "a-Long-pass-9"


@pytest.fixture
def lab(transactional_db: Any) -> dict[str, Any]:
    """An owner and a viewer of "Lab", a dataset with a profile, and a model worse than the mean."""
    from django.contrib.auth import get_user_model

    from apps.accounts.models import Membership, Role
    from apps.accounts.services import workspace_create
    from apps.models.services import model_register
    from ml.config import TrainConfig
    from ml.train import train

    users = get_user_model().objects
    owner = users.create_user("olga", "olga@example.com", PASSWORD)
    viewer = users.create_user("vik", "vik@example.com", PASSWORD)
    ws = workspace_create(name="Lab", owner=owner)
    Membership.objects.create(user=viewer, workspace=ws, role=Role.VIEWER)
    rng = np.random.default_rng(0)
    noise = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300),
                          "y": rng.normal(size=300)})
    result = train(noise, TrainConfig.from_dict(
        {"target": "y", "algorithm": "knn", "params": {"n_neighbors": 1}},
        columns=list(noise.columns)))
    assert result.baseline["beaten"] is False
    model = model_register(experiment=None, result=result, user=owner, workspace=ws,
                           name="noise knn")
    dataset = _dataset(ws, _penguins_like(rng))
    return {"slug": ws.slug, "model": model, "dataset": dataset}


def _penguins_like(rng: Any) -> pd.DataFrame:
    n = 200
    return pd.DataFrame({"species": rng.choice(["Adelie", "Gentoo", "Chinstrap"], n),
                         "island": rng.choice(["Biscoe", "Dream"], n),
                         "bill_length_mm": rng.normal(44, 5, n).round(1),
                         "sex": rng.choice(["male", "female"], n),
                         "year": rng.choice([2007, 2008, 2009], n)})


def _dataset(ws: Any, frame: pd.DataFrame) -> Any:
    import io

    from apps.core.files import storage_path, storage_save
    from apps.datasets.models import Dataset
    from ml.data import column_kind, write_parquet
    from ml.validation import profile_dataframe

    buffer = io.BytesIO()
    write_parquet(frame, buffer)
    stored = storage_save(storage_path(ws, "datasets", ".parquet"), buffer.getvalue())
    columns = [{"name": str(c), "dtype": str(frame[c].dtype), "kind": column_kind(frame[c]),
                "n_missing": int(frame[c].isna().sum()), "n_unique": int(frame[c].nunique())}
               for c in frame.columns]
    return Dataset.objects.create(workspace=ws, name="penguins", file="", parquet=stored,
                                  status="ready", n_rows=len(frame), n_columns=frame.shape[1],
                                  columns=columns, profile=profile_dataframe(frame))


def test_a_model_worse_than_the_mean_is_flagged_and_serving_it_asks_first(
    page: Any, lab: dict[str, Any]
) -> None:
    login(page, "olga")
    slug, model = lab["slug"], lab["model"]
    page.goto(f"/w/{slug}/models/")
    assert page.get_by_text("worse than baseline").count() == 1
    page.goto(f"/w/{slug}/models/{model.pk}/")
    warning = page.locator("#baseline-warning")
    assert "no better than always predicting the mean" in warning.inner_text()
    screenshot(page, "model-worse-than-baseline")
    asked: list[str] = []

    def answer(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", answer)
    page.locator("section[aria-labelledby=try] button[type=submit]").click()
    page.wait_for_timeout(300)
    assert asked and "no better than" in asked[0]
    assert page.locator("#try-result").inner_text().strip() == ""  # dismissed: nothing sent


def test_try_it_names_the_inputs_it_filled_in_and_offers_the_api_call(
    page: Any, lab: dict[str, Any]
) -> None:
    login(page, "olga")
    slug, model = lab["slug"], lab["model"]
    page.goto(f"/w/{slug}/models/{model.pk}/")
    page.on("dialog", lambda dialog: dialog.accept())  # the baseline question: yes
    for field in page.locator("section[aria-labelledby=try] input:not([type=hidden])").all():
        field.fill("")
    page.locator("section[aria-labelledby=try] button[type=submit]").click()
    page.wait_for_selector("#filled-in")
    assert "2 inputs were empty and filled in as in training: a, b" in page.inner_text(
        "#filled-in")
    page.locator("#try-result summary").click()
    curl = page.inner_text("#curl-try")
    assert curl.startswith("curl -X POST") and '"rows": [{"a": null, "b": null}]' in curl
    assert "Call it from a script" in page.content()


def test_the_form_suggests_a_likely_target_and_viewers_get_no_form(
    new_page: Any, lab: dict[str, Any]
) -> None:
    slug, dataset = lab["slug"], lab["dataset"]
    owner = new_page()
    login(owner, "olga")
    owner.goto(f"/w/{slug}/experiments/new/?dataset={dataset.pk}")
    assert owner.locator("#id_target").input_value() == "species"  # not "year", the last
    assert "usual target name" in owner.inner_text("#target-reason")
    screenshot(owner, "experiment-form-target")
    viewer = new_page()
    login(viewer, "vik")
    viewer.goto(f"/w/{slug}/experiments/new/?dataset={dataset.pk}")
    assert viewer.locator("#read-only").is_visible()
    assert viewer.locator("#experiment-form").count() == 0


def test_on_a_phone_the_navigation_folds_into_a_menu(browser: Any, live_server: Any,
                                                     lab: dict[str, Any]) -> None:
    context = browser.new_context(base_url=live_server.url,
                                  viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        login(page, "olga")
        header = page.locator("header.topbar").bounding_box()
        assert header["height"] < 844 / 8  # was a quarter of the screen
        nav = page.locator("#mainnav")
        assert not nav.is_visible()
        page.get_by_role("button", name="Menu").click()
        datasets = nav.get_by_role("link", name="Datasets", exact=True)
        assert nav.is_visible() and datasets.is_visible()
        screenshot(page, "phone-menu")
        datasets.click()
        page.wait_for_url("**/datasets/")
    finally:
        context.close()


def test_an_unknown_address_shows_the_products_404_page(page: Any, lab: dict[str, Any]) -> None:
    login(page, "olga")
    response = page.goto("/w/lab/no-such-page/")
    assert response.status == 404
    assert page.inner_text("h1") == "Not found"
    assert "Traceback" not in page.content()
    assert page.get_by_role("button", name="Go home").is_visible()


def test_a_slow_answer_to_an_older_choice_does_not_undo_a_newer_one(
    page: Any, lab: dict[str, Any]
) -> None:
    """The target's refresh answers late (a busy server), after the algorithm's: the form
    keeps the algorithm and its parameters instead of swapping the older answer in."""
    import threading

    login(page, "olga")
    slug, dataset = lab["slug"], lab["dataset"]
    page.goto(f"/w/{slug}/experiments/new/?dataset={dataset.pk}")
    first = threading.Event()

    def slow_first(route: Any) -> None:
        if not first.is_set():
            first.set()
            response = route.fetch()
            page.wait_for_timeout(1500)  # answered after the newer request's answer
            route.fulfill(response=response)
        else:
            route.continue_()

    page.route("**/experiments/new/fields/**", slow_first)
    page.select_option("#id_target", "island")
    page.select_option("#id_algorithm", "decision_tree")
    page.locator("#params").wait_for()
    page.wait_for_timeout(2500)  # the old answer has arrived by now
    assert page.locator("#id_algorithm").input_value() == "decision_tree"
    assert page.locator("#params").is_visible()
    assert page.locator("#id_target").input_value() == "island"


def test_compare_shows_one_task_with_the_best_marked(page: Any, lab: dict[str, Any]) -> None:
    from apps.experiments.models import Experiment, Status

    model = lab["model"]
    ws, owner = model.workspace, model.created_by
    runs = [Experiment.objects.create(
        workspace=ws, dataset=lab["dataset"], created_by=owner, name=name, target="y",
        task=task, algorithm="ridge", status=Status.SUCCEEDED, metrics=metrics,
        config={"params": params}) for name, task, metrics, params in (
            ("ridge a", "regression", {"r2": 0.45, "mae": 43.0}, {"alpha": 1.0}),
            ("ridge b", "regression", {"r2": -4.24, "mae": 158.0}, {"alpha": 100.0}),
            ("a classifier", "classification", {"accuracy": 0.9}, {}))]
    login(page, "olga")
    page.goto(f"/w/{lab['slug']}/experiments/")
    for run in runs:
        page.check(f"input[name=compare][value='{run.pk}']")
    page.get_by_role("button", name="Compare selected").click()
    compare = page.locator("#compare")
    compare.wait_for()
    assert "Left out, another task than regression: a classifier" in compare.inner_text()
    assert compare.locator("td.best").count() == 2  # r2 and mae
    assert "lower is better" in compare.inner_text()
    assert "params.alpha" in page.locator("#compare-diff").inner_text()


def test_a_wide_dataset_page_is_short_and_its_columns_searchable(
    page: Any, lab: dict[str, Any]
) -> None:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.integers(0, 3, size=(30, 2000)),
                         columns=[f"pixel_{i}" for i in range(2000)])
    frame["label"] = rng.choice(["a", "b"], 30)
    dataset = _dataset(lab["model"].workspace, frame)
    login(page, "olga")
    page.goto(f"/w/{lab['slug']}/datasets/{dataset.pk}/")
    height = page.evaluate("document.body.scrollHeight")
    assert height < 12_000, height  # a 5,000-column table was 210,000 px
    page.fill("input[name=column]", "pixel_1999")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**column=pixel_1999**")
    assert "1 column match" in page.inner_text("#columns-found")


def test_a_file_predicted_at_once_is_listed_on_the_batch_page(
    page: Any, lab: dict[str, Any], tmp_path: Any
) -> None:
    login(page, "olga")
    model = lab["model"]
    page.on("dialog", lambda dialog: dialog.accept())  # the baseline question: yes
    path = tmp_path / "rows.csv"
    path.write_text("a,b\n0.1,0.2\n0.3,0.4\n")
    page.goto(f"/w/{lab['slug']}/models/{model.pk}/batch/")
    page.set_input_files("input[type=file][name=file]", str(path))
    with page.expect_download() as download:
        page.locator("form button[type=submit]").last.click()
    assert download.value.suggested_filename.endswith("-predictions.csv")
    page.goto(f"/w/{lab['slug']}/models/{model.pk}/batch/")
    row = page.locator("table tbody tr").first
    assert "rows.csv" in row.inner_text() and "at once" in row.inner_text()


def test_the_quality_report_summarises_missing_values_and_the_leaderboard_reads_well(
    page: Any, lab: dict[str, Any]
) -> None:
    from apps.experiments.models import Experiment, Status

    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300),
                          "y": rng.choice(["x", "z"], 300)})
    frame.loc[:18, "a"] = np.nan  # 19 empty cells: under the warning threshold
    dataset = _dataset(lab["model"].workspace, frame)
    dataset.quality = dataset.profile["quality"]
    dataset.save(update_fields=["quality"])
    login(page, "olga")
    page.goto(f"/w/{lab['slug']}/datasets/{dataset.pk}/")
    quality = page.locator("section[aria-labelledby=quality-title]").inner_text()
    assert "No problems found" not in quality
    assert "19 cells are empty across 1 column" in quality
    run = Experiment.objects.create(
        workspace=dataset.workspace, dataset=dataset, created_by=lab["model"].created_by,
        name="auto run", target="y", task="classification", algorithm="auto",
        status=Status.SUCCEEDED, metrics={"f1_macro": 0.5},
        leaderboard=[{"rank": 1, "algorithm": "random_forest", "mean_score": 0.512345678,
                      "std_score": 0.0312345, "fit_time_s": 1.25,
                      "params": {"n_estimators": 100, "max_depth": None}}])
    page.goto(f"/w/{lab['slug']}/experiments/{run.pk}/")
    board = page.locator("#leaderboard")
    headers = board.locator("thead th").all_inner_texts()
    assert len(headers) == len(set(headers)) == 5
    text = board.inner_text()
    assert "0.5123" in text and "± 0.0312" in text and "Random forest" in text
    # (PostgreSQL's jsonb keeps keys in its own order)
    assert "n_estimators = 100" in text and "max_depth = none" in text


def test_auto_shows_its_ensemble_on_the_leaderboard_and_the_model_card_and_can_stop_early(
    page: Any, lab: dict[str, Any]
) -> None:
    from apps.experiments.models import Experiment, Status
    from apps.models.services import model_register
    from ml.config import TrainConfig
    from ml.train import train

    rng = np.random.default_rng(4)
    frame = pd.DataFrame(rng.normal(size=(500, 4)), columns=["a", "b", "c", "d"])
    frame["y"] = frame.a + np.sin(3 * frame.b) + frame.c * frame.d + rng.normal(0, 0.6, 500)
    dataset = _dataset(lab["model"].workspace, frame)
    result = train(frame, TrainConfig.from_dict(
        {"target": "y", "algorithm": "auto", "time_budget_s": 120,
         "params": {"candidates": ["ridge", "knn", "lightgbm", "extra_trees"]}},
        columns=list(frame.columns)))
    assert result.algorithm == "ensemble", result.leaderboard
    owner = lab["model"].created_by
    recorded = result.to_dict()
    run = Experiment.objects.create(
        workspace=dataset.workspace, dataset=dataset, created_by=owner, name="auto blend",
        target="y", task="regression", algorithm="auto", status=Status.SUCCEEDED,
        metrics=recorded["metrics"], leaderboard=recorded["leaderboard"],
        best_params=recorded["best_params"])
    model = model_register(experiment=run, result=result, user=owner, name="blend")
    login(page, "olga")
    page.goto(f"/w/{lab['slug']}/experiments/{run.pk}/")
    board = page.locator("#leaderboard")
    assert "Ensemble weight" in board.locator("thead").inner_text()
    assert board.locator("tbody tr.best").inner_text().startswith("1")  # the blend ranks first
    assert "Ensemble (weighted blend)" in board.inner_text()
    first = result.ensemble[0]
    assert f"{first['label']} {first['weight']:.2f}" in board.locator("tbody tr.best").inner_text()
    screenshot(page, "auto-leaderboard", full_page=True)
    page.goto(f"/w/{lab['slug']}/models/{model.pk}/")
    card = page.locator("#ensemble")
    assert "A weighted blend of" in card.inner_text()
    assert card.locator("tbody tr").count() == len(result.ensemble) >= 2
    assert result.ensemble[0]["label"] in card.inner_text()  # "LightGBM", not "lightgbm"
    screenshot(page, "model-card-ensemble")

    running = Experiment.objects.create(
        workspace=dataset.workspace, dataset=dataset, created_by=owner, name="auto running",
        target="y", task="regression", algorithm="auto", status=Status.RUNNING)
    page.goto(f"/w/{lab['slug']}/experiments/{running.pk}/")
    page.locator("#keep-best").click()
    page.wait_for_url(f"**/experiments/{running.pk}/")
    assert "Stopping: ending the search and keeping the best model so far" in page.content()
    running.refresh_from_db()
    assert running.stop_requested and not running.cancel_requested
