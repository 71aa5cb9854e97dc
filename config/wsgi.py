"""WSGI entry point: `gunicorn -c config/gunicorn.py config.wsgi` (and `runserver`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
application = get_wsgi_application()

if os.environ.get("MODEL_WARM_START", "1") not in ("0", "false", "no", ""):
    # Before the first request: the prediction code's imports and first-use setup, the most
    # recently registered models into this process's cache, and one request through the
    # stack; then, in the background, models registered from now on.
    from apps.core.warmup import warm_request_path
    from apps.models.cache import warm_start

    warm_start(wait=True)
    warm_request_path(application)
