"""Datasets for the security tests come from the experiments' fixtures."""

from tests.experiments.conftest import iris, make_dataset  # noqa: F401
