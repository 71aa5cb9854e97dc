"""Test settings: the base (production) settings with fast hashing, an isolated data folder,
and the few things a test run sets itself: its own key, plain HTTP, static files from the source
tree (no collectstatic).
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault(
    "DATA_DIR", str(Path(tempfile.gettempdir()) / f"modelworks-test-{os.getpid()}")
)

# Set before the base settings read them; worker processes started by the tests inherit them.
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_HTTPS", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-key-" + "t" * 50)

from config.settings.base import *  # noqa: E402,F403
from config.settings.base import DATA_DIR, DATABASES, Q_CLUSTER, STORAGES  # noqa: E402

# The API throttles count in a per-process cache that outlives each test: off here, and on in the
# tests of the throttles themselves.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {  # noqa: F405
    "user": None, "anon": None, "login": None}}
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
WHITENOISE_USE_FINDERS = True

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Unit tests run queued tasks inline; integration tests start a real cluster (tests/conftest.py).
Q_CLUSTER["sync"] = os.environ.get("Q_SYNC", "1") == "1"
JOBS_IN_CHILD_PROCESS = not Q_CLUSTER["sync"]  # inline under the test client, forked in a worker

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not :memory:, so that a real worker process can share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}

# A worker process started by the integration tests is told the test database's name.
if os.environ.get("MODELWORKS_TEST_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["MODELWORKS_TEST_DB_NAME"]
    DATABASES["default"].pop("TEST", None)
