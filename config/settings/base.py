"""Settings, all read from the environment (see README "Configuration").

The defaults are production's: DEBUG off, HTTPS cookies and redirects, and start-up stops without
a real secret key (DJANGO_SECRET_KEY, or the file DATA_DIR/secret_key that `make run` writes
once). There is no built-in key: it signs sessions, model files and job payloads.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)
# Plain-HTTP deployments (`make run` on a laptop) set DJANGO_HTTPS=false: no secure-only cookies,
# no redirect to https, no HSTS. Everywhere else the site is served over HTTPS.
HTTPS = env.bool("DJANGO_HTTPS", default=True)

_SECRET_FILE = DATA_DIR / "secret_key"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="") or (
    _SECRET_FILE.read_text().strip() if _SECRET_FILE.is_file() else "")
if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("django-insecure"):
    raise ImproperlyConfigured(
        "Set DJANGO_SECRET_KEY to a random value of at least 50 characters (e.g. python -c "
        "'import secrets; print(secrets.token_urlsafe(60))'), or put one in "
        f"{_SECRET_FILE} (`make run` does that once)."
    )
# Model files are signed with this key; rotating it makes existing model files unloadable.
MODEL_SIGNING_KEY = env.str("MODEL_SIGNING_KEY", default=SECRET_KEY).encode()

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if not DEBUG and any(host == "*" for host in ALLOWED_HOSTS):
    # With any Host accepted, a password-reset request sent with `Host: evil.example` mails the
    # victim a real link to the attacker, and `next=` may point anywhere.
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS may not contain '*' when DJANGO_DEBUG is false: list the site's "
        "host names (e.g. ml.example.com)."
    )
# The address e-mailed links (password reset, address confirmation) are built from, never the
# request's Host header; e.g. https://ml.example.com. Empty: the request's (allowed) host.
SITE_URL = env.str("SITE_URL", default="").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # First: its runserver (TCP_NODELAY) extends whitenoise's.
    "apps.core",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "django_q",
    "django_htmx",
    "template_partials",
    "django_prometheus",
    "axes",
    "csp",
    "apps.accounts",
    "apps.datasets",
    "apps.experiments",
    "apps.models",
    "apps.home",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "apps.core.logs.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "apps.core.middleware.RequestGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "csp.middleware.CSPMiddleware",
    "apps.core.security.SecurityHeadersMiddleware",
    "apps.core.middleware.StorageOutageMiddleware",
    # Last: turns a locked-out sign-in into a 429.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.accounts.context_processors.workspaces",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'modelworks.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web requests and workers write at once: WAL + busy timeout + IMMEDIATE transactions
    # avoid "database is locked" (measured on these machines).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# Persistent connections (each server thread keeps its own): a new connection per request
# cost ~0.5 ms on SQLite (open + pragmas) and more on PostgreSQL (a backend per connection).
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # First: refuses any sign-in (page, admin, API token) from an address locked out.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
# "optional": a confirmation mail at sign-up; only confirmed addresses can be used to add
# someone to a workspace by e-mail. "mandatory" once outgoing mail works.
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_ADAPTER = "apps.accounts.adapters.AccountAdapter"
ACCOUNT_LOGOUT_ON_GET = False

# Failed sign-ins are counted in the database (so across processes and machines), by client
# address; past AXES_FAILURE_LIMIT the address is refused with 429 for AXES_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = env.list("AXES_LOCKOUT_PARAMETERS", default=["ip_address"])
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "apps.core.security.client_ip"
AXES_LOCKOUT_CALLABLE = "apps.accounts.lockout.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["password", "password1", "password2", "key"]
AXES_VERBOSE = False
# Proxies of ours in front of the web processes that append to X-Forwarded-For. 0: the header is
# ignored (anyone can send it), the socket's address counts.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Tokens from POST /api/v1/auth/token/ expire after this many days (0: never).
API_LOGIN_TOKEN_DAYS = env.int("API_LOGIN_TOKEN_DAYS", default=30)

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Modelworks <noreply@localhost>")

# --- I18N -------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Files ------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = DATA_DIR / "files"
# Every upload, Parquet file, plot and model goes through this storage; set STORAGE_BACKEND to
# e.g. "storages.backends.s3.S3Storage" with STORAGE_OPTIONS='{"bucket_name": ...}' for S3.
STORAGES = {
    "default": {
        "BACKEND": env.str(
            "STORAGE_BACKEND", default="django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": env.json("STORAGE_OPTIONS", default={"location": str(MEDIA_ROOT)}),
    },
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}
# Object storage: with S3_BUCKET set, every file lives in that bucket of an S3-compatible store
# (AWS S3, MinIO, Ceph, ...), shared by the web and worker machines, which then share no disk.
# Keys come from the usual AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the machine's role).
S3_BUCKET = env.str("S3_BUCKET", default="")
if S3_BUCKET:
    from botocore.config import Config as _BotoConfig

    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env.str("S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("S3_REGION", default="") or None,
            # Names are random (apps.core.files.storage_path): no existence check per save.
            "file_overwrite": True,
            "default_acl": None,
            "querystring_expire": env.int("S3_SIGNED_URL_EXPIRE_S", default=300),
            # A file read from the bucket spools to disk past this size, never whole in memory.
            "max_memory_size": 8 * 1024 * 1024,
            # A store that does not answer fails the request or job in seconds, not minutes.
            # Addressing "path" for MinIO and most self-hosted stores; "virtual" for AWS's newer
            # buckets. (django-storages' own signature/addressing options apply only without a
            # client_config: they are set here.)
            "client_config": _BotoConfig(
                connect_timeout=5, read_timeout=60, signature_version="s3v4",
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": env.str("S3_ADDRESSING_STYLE", default="path")}),
        },
    }
# Model downloads answer with a redirect to a signed URL of the store (the bytes do not pass
# through the web process) instead of streaming the file; only with S3_BUCKET.
S3_REDIRECT_DOWNLOADS = bool(S3_BUCKET) and env.bool("S3_REDIRECT_DOWNLOADS", default=False)
# Uploads stream to a temporary file on disk, never whole into memory.
FILE_UPLOAD_HANDLERS = ["apps.core.uploads.LimitedTemporaryFileUploadHandler"]
FILE_UPLOAD_TEMP_DIR = str(DATA_DIR / "tmp")
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
FILE_UPLOAD_MAX_MEMORY_SIZE = 0
MAX_UPLOAD_BYTES = env.int("MAX_UPLOAD_BYTES", default=500 * 1024 * 1024)
# Every request body but an upload and prediction rows: an anonymous client cannot make a web
# process read and parse a big body (refused with 413 before anything reads it).
MAX_REQUEST_BYTES = env.int("MAX_REQUEST_BYTES", default=1024 * 1024)
# JSON bodies (prediction rows): 10,000 rows fit comfortably in 32 MB.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=32 * 1024 * 1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000
# Dataset parsing limits (the worker refuses files beyond them with a clear message).
DATASET_MAX_COLUMNS = env.int("DATASET_MAX_COLUMNS", default=10_000)
DATASET_MAX_FIELD_CHARS = env.int("DATASET_MAX_FIELD_CHARS", default=1_000_000)
# Rows a dataset may have (empty: no limit); a longer file fails with a clear message.
DATASET_MAX_ROWS = env.int("DATASET_MAX_ROWS", default=0) or None

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.Pagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.renderers.FastJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "apps.core.renderers.FastJSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # NaN/Infinity are not JSON: refuse to emit them.
    "STRICT_JSON": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.throttles.TokenRateThrottle",
        "apps.core.throttles.AnonymousRateThrottle",
    ],
    # "off" turns a limit off.
    "DEFAULT_THROTTLE_RATES": {
        scope: (None if rate in ("", "off") else rate) for scope, rate in {
            "user": env.str("API_THROTTLE_USER", default="6000/min"),
            "anon": env.str("API_THROTTLE_ANON", default="120/min"),
            "login": env.str("API_THROTTLE_LOGIN", default="20/min"),
        }.items()
    },
    "NUM_PROXIES": None,  # unused: apps.core.security.client_ip reads TRUSTED_PROXY_COUNT
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Modelworks API",
    "DESCRIPTION": "Upload data, train models, serve predictions. See README.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",  # with the split view: no inline script (CSP)
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Jobs (django-q2) ---------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
JOB_TIMEOUT_S = env.int("JOB_TIMEOUT_S", default=3600)
Q_CLUSTER = {
    "name": env.str("Q_CLUSTER_NAME", default="modelworks"),
    "workers": env.int("Q_WORKERS", default=2),
    # One job per worker process at a time; a fresh process after each few jobs frees the
    # memory TensorFlow and big DataFrames leave behind.
    "recycle": 20,
    # SIGALRM-based; a long C-level fit is then killed by the guard, which our heartbeat
    # check turns into a clear "failed" (see apps/experiments).
    "timeout": JOB_TIMEOUT_S,
    # Must exceed timeout, or a long job is redelivered and runs twice at once.
    "retry": JOB_TIMEOUT_S + 300,
    # A task that raised is not redelivered: our tasks record failure on the row themselves.
    "ack_failures": True,
    # Bounded redelivery; a worker killed by SIGKILL does not count an attempt (django-q2
    # #327), so the job rows keep their own attempts counter too.
    "max_attempts": 2,
    "save_limit": 500,
    "catch_up": False,
    "label": "Jobs",
    "poll": 0.5,
    # Tasks a cluster takes off the queue ahead of its free workers (django-q2's default is
    # workers squared). Jobs run for seconds to hours: taking more only keeps them from an idle
    # machine, and a cluster that dies takes them along (the sweeper sends them again).
    "queue_limit": env.int("Q_QUEUE_LIMIT", default=1),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
Q_CLUSTER["sync"] = env.bool("Q_SYNC", default=False)
# Jobs run in a supervised child process; inline (cooperative cancel only) when tasks run
# synchronously in the calling process.
JOBS_IN_CHILD_PROCESS = env.bool("JOBS_IN_CHILD_PROCESS", default=not Q_CLUSTER["sync"])

# Every background job (dataset processing, experiments, batch predictions) runs in a child
# process that its worker supervises (apps/core/jobs.py). The worker beats the row's heartbeat
# every JOB_HEARTBEAT_S; the sweeper fails a job after JOB_STALE_AFTER_S without one (its worker
# died), and a job redelivered more than JOB_MAX_ATTEMPTS times is failed instead of run again.
JOB_HEARTBEAT_S = env.int("JOB_HEARTBEAT_S", default=10)
JOB_STALE_AFTER_S = env.int("JOB_STALE_AFTER_S", default=120)
JOB_MAX_ATTEMPTS = env.int("JOB_MAX_ATTEMPTS", default=2)
# A job queued this long that no longer waits in the broker was taken by a cluster that died
# before starting it (clusters take tasks ahead of their free workers): the sweeper queues it
# again. Safe when it was merely slow to start: only one copy can claim the row.
JOB_REQUEUE_AFTER_S = env.int("JOB_REQUEUE_AFTER_S", default=120)
# A job past its time limit is killed and fails saying so (before django-q2's own timeout).
JOB_TIME_LIMIT_S = env.int("JOB_TIME_LIMIT_S", default=max(60, JOB_TIMEOUT_S - 30))
# A job whose process holds more than this much memory of its own is killed and fails with "ran
# out of memory"; the default leaves each of the Q_WORKERS half of this machine's memory.
_MEMORY_MB = (os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) // (1024 * 1024)
JOB_MEMORY_LIMIT_MB = env.int(
    "JOB_MEMORY_LIMIT_MB", default=max(1024, _MEMORY_MB // 2 // max(1, Q_CLUSTER["workers"])))
# OpenMP/BLAS threads per job: the cores shared out among the Q_WORKERS jobs side by side, so
# they never oversubscribe the machine (one worker gets all cores, as a notebook would).
_CORES = len(os.sched_getaffinity(0))
EXPERIMENT_THREADS = env.int(
    "EXPERIMENT_THREADS", default=max(1, _CORES // max(1, Q_CLUSTER["workers"])))
# A job still queued after this long (a lost Redis delivery) is failed by the sweeper.
EXPERIMENT_QUEUE_TIMEOUT_S = env.int("EXPERIMENT_QUEUE_TIMEOUT_S", default=86400)
DATASET_QUEUE_TIMEOUT_S = env.int("DATASET_QUEUE_TIMEOUT_S", default=86400)
# The new-experiment form's target report reads at most this many values of a dataset (its
# first rows) for the leakage checks; the target column itself is read whole.
FORM_SAMPLE_CELLS = env.int("FORM_SAMPLE_CELLS", default=2_000_000)
# Per-workspace quotas (0: none): jobs queued or running at once (429 past it), and bytes of
# datasets and models stored (uploads and training refused past it).
WORKSPACE_MAX_ACTIVE_JOBS = env.int("WORKSPACE_MAX_ACTIVE_JOBS", default=10)
WORKSPACE_MAX_STORAGE_BYTES = env.int("WORKSPACE_MAX_STORAGE_BYTES",
                                      default=20 * 1024 * 1024 * 1024)
MODEL_CACHE_SIZE = env.int("MODEL_CACHE_SIZE", default=16)
# ...and at most this many bytes of them (pickled size; a bigger model is served, not kept).
MODEL_CACHE_MAX_BYTES = env.int("MODEL_CACHE_MAX_BYTES", default=1024 * 1024 * 1024)
# Models each web process loads into its cache at start (the most recently registered).
MODEL_WARM_COUNT = env.int("MODEL_WARM_COUNT", default=8)
# A finished experiment waits at most this long for the live web processes to load its model
# (so the first prediction after "succeeded" is warm); a process not seen for SERVING_LIVE_S
# is not waited for.
MODEL_READY_WAIT_S = env.float("MODEL_READY_WAIT_S", default=3.0)
SERVING_LIVE_S = env.float("SERVING_LIVE_S", default=15.0)
# Native threads (OpenMP, BLAS) one prediction may use in a web process's serving thread.
PREDICT_THREADS = env.int("PREDICT_THREADS", default=1)
# ...and models registered since, looked for this often (one small query; 0 turns it off).
MODEL_WARM_POLL_S = env.float("MODEL_WARM_POLL_S", default=0.5)
# Batch prediction: files up to this many rows are answered at once on the page; bigger ones
# become a background job predicting in chunks. The API's CSV upload answers synchronously.
BATCH_PREDICT_INLINE_ROWS = env.int("BATCH_PREDICT_INLINE_ROWS", default=20_000)
BATCH_PREDICT_CHUNK_ROWS = env.int("BATCH_PREDICT_CHUNK_ROWS", default=50_000)
# Files bigger in rows or bytes than BATCH_PREDICT_INLINE_* on the page become a background job.
BATCH_PREDICT_INLINE_BYTES = env.int("BATCH_PREDICT_INLINE_BYTES", default=10 * 1024 * 1024)
# The API's synchronous CSV prediction builds its answer in memory: bounded in rows and bytes
# (413 past it, naming the batch page that predicts big files in the background).
MODEL_PREDICT_CSV_MAX_ROWS = env.int("MODEL_PREDICT_CSV_MAX_ROWS", default=100_000)
MODEL_PREDICT_CSV_MAX_BYTES = env.int("MODEL_PREDICT_CSV_MAX_BYTES", default=50 * 1024 * 1024)

# API throttle counts live here: shared by every process through Redis when REDIS_URL is set.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                      "LOCATION": REDIS_URL} if REDIS_URL else
          {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    # Sessions read from Redis, written through to the database (they survive a Redis restart).
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# --- Security ---------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline script anywhere (HTMX and our JS are files served by us); inline style attributes
# draw the bars and swatches. Pico's form icons are data: images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# /metrics counts cover every workspace: only these networks, or `Authorization: Bearer
# <METRICS_TOKEN>`, may read them.
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS",
                                    default=["127.0.0.1/32", "::1/128"])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
SESSION_COOKIE_HTTPONLY = True
if HTTPS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=60 * 60 * 24 * 30)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # Joining the browsers' preload list is a commitment each operator makes for their
        # domain (DJANGO_HSTS_PRELOAD=true), not a default; `check --deploy` is otherwise clean.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# LOG_FORMAT=json: one JSON object per line with the request id, user and workspace (web) or
# the job (worker), for a log pipeline; "plain" reads better in a terminal.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "apps.core.logs.ContextFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
                   "json": {"()": "apps.core.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["context"],
                             "formatter": "json" if LOG_FORMAT == "json" else "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"},
                # Failures and lockouts are warnings; every successful sign-in is not news.
                "axes": {"level": "WARNING"},
                # One line per request (gunicorn's own access log is off with LOG_FORMAT=json).
                "modelworks.access": {"level": env.str(
                    "ACCESS_LOG_LEVEL", default="INFO" if LOG_FORMAT == "json" else "WARNING")}},
}
