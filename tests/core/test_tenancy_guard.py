"""Every tenant selector refuses to run without a workspace."""

import pytest

from apps.accounts import selectors as account_selectors
from apps.datasets import selectors as dataset_selectors
from apps.experiments import selectors as experiment_selectors
from apps.models import selectors as model_selectors

pytestmark = pytest.mark.django_db

CALLS = [
    lambda ws: account_selectors.membership_list(workspace=ws),
    lambda ws: dataset_selectors.dataset_list(workspace=ws),
    lambda ws: dataset_selectors.dataset_list_ready(workspace=ws),
    lambda ws: dataset_selectors.dataset_get(workspace=ws, pk=1),
    lambda ws: experiment_selectors.experiment_list(workspace=ws),
    lambda ws: experiment_selectors.experiment_get(workspace=ws, pk=1),
    lambda ws: model_selectors.model_list(workspace=ws),
    lambda ws: model_selectors.model_get(workspace=ws, pk=1),
    lambda ws: model_selectors.model_algorithms(workspace=ws),
]


@pytest.mark.parametrize("call", CALLS)
def test_it_fails_when_a_selector_gets_no_workspace(call):
    for wrong in (None, 1, "acme"):
        with pytest.raises(TypeError):
            call(wrong)
