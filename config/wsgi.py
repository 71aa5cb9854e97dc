"""WSGI entry point: `gunicorn -c config/gunicorn.py config.wsgi` (and `runserver`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
application = get_wsgi_application()

if os.environ.get("MODEL_WARM_START", "1") not in ("0", "false", "no", ""):
    # Before the first request: the prediction code's imports and first-use setup; then, in
    # the background, the most recently registered models into this process's cache.
    from apps.models.cache import warm_start

    warm_start()
