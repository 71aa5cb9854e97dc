"""A 5,000-column dataset has a page a person can use (#13): columns paged and searchable,
warnings grouped and folded, the preview cut to the first columns, the target findable."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.experiments.conftest import make_dataset  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def wide(make_dataset: Any) -> Any:  # noqa: F811
    from ml.validation import profile_dataframe

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.integers(0, 3, size=(40, 5000)),
                         columns=[f"pixel_{i}" for i in range(5000)])
    frame.iloc[:, :10] = 0  # ten constant columns: one folded group of warnings
    frame["label"] = rng.choice(["a", "b"], 40)
    dataset = make_dataset(frame, name="wide")
    dataset.profile = profile_dataframe(frame)
    dataset.quality = dataset.profile["quality"]
    dataset.save(update_fields=["profile", "quality"])
    return dataset


def test_the_page_of_a_5000_column_dataset_stays_small(client_as: Any, alice: Any,
                                                       wide: Any) -> None:
    html = client_as(alice).get(f"/w/acme/datasets/{wide.pk}/").content.decode()
    assert len(html) < 400_000  # every column's row and preview cell made megabytes
    assert "Columns 1–50 of 5,001" in html
    assert html.count("<td><code>") <= 50
    assert "The first 50 of 5,001 columns" in html
    assert '<details class="warning-kind" >' in html  # ten alike: folded
    assert "<code>constant_column</code> · 10 columns" in html


def test_columns_are_searched_and_paged(client_as: Any, alice: Any, wide: Any) -> None:
    client = client_as(alice)
    found = client.get(f"/w/acme/datasets/{wide.pk}/", {"column": "pixel_499"}).content.decode()
    assert "11 columns match “pixel_499”" in found  # pixel_499 and pixel_4990 to 4999
    second = client.get(f"/w/acme/datasets/{wide.pk}/", {"columns_page": 2}).content.decode()
    assert "Columns 51–100 of 5,001" in second and ">pixel_50<" in second.replace(
        "</td>", "<").replace("<td>", ">")


def test_the_target_picker_offers_a_search_for_many_columns(client_as: Any, alice: Any,
                                                            wide: Any) -> None:
    html = client_as(alice).get(f"/w/acme/experiments/new/?dataset={wide.pk}").content.decode()
    assert 'data-filter-options="id_target"' in html
    assert 'data-refresh-delay="400"' in html  # arrowing through datasets: one reload
