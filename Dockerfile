# Modelworks web/worker image. Build: docker build -t modelworks .
# Web:    docker run -p 8000:8000 --env-file .env modelworks
# Worker: docker run --env-file .env modelworks python manage.py qcluster
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /venv
COPY requirements/ /tmp/requirements/
RUN /venv/bin/pip install -r /tmp/requirements/base.txt

FROM python:3.11-slim
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_SETTINGS_MODULE=config.settings.base DATA_DIR=/data
RUN useradd --create-home --uid 10001 modelworks && mkdir -p /data && chown modelworks /data
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=modelworks . /app
# collectstatic needs no secrets or database; a throwaway key satisfies the production check.
RUN DJANGO_DEBUG=false DJANGO_SECRET_KEY=collectstatic-only-$(head -c 48 /dev/urandom | base64 | tr -d '/+=') \
    python manage.py collectstatic --noinput && chown -R modelworks /app/staticfiles
USER modelworks
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
