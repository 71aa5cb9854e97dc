"""Objects the fuzzed API calls can reach."""

from tests.experiments.conftest import iris, make_dataset  # noqa: F401
from tests.models.conftest import clf_frame, clf_result, reg_result, register  # noqa: F401
