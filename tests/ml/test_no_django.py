"""The engine stays plain Python: importing any ml.* module loads neither Django nor TensorFlow."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import ml

ROOT = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter: import each module in turn and record what it pulled in, so a
# failure names the module that first brought Django or TensorFlow along.
PROBE = """
import importlib, json, sys
found = {}
for name in sys.argv[1:]:
    importlib.import_module(name)
    found[name] = sorted(m for m in ("django", "tensorflow") if m in sys.modules)
print(json.dumps(found))
"""


def engine_modules() -> list[str]:
    """Every module under ml/, found on disk so modules added later are covered too."""
    return sorted(info.name for info in pkgutil.walk_packages(ml.__path__, prefix="ml."))


def test_it_finds_the_engine_modules() -> None:
    assert {"ml.errors", "ml.callbacks", "ml.data", "ml.validation"} <= set(engine_modules())


def test_importing_any_engine_module_loads_neither_django_nor_tensorflow() -> None:
    modules = engine_modules()
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *modules],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert list(found) == modules
    culprits = {name: heavy for name, heavy in found.items() if heavy}
    assert culprits == {}, f"importing these modules loaded {culprits}"


def test_the_probe_would_notice_django() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "json", "django"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found == {"json": [], "django": ["django"]}
