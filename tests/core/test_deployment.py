"""The deployment files parse, and every command and setting in them is one the code has.

platform/compose.yaml and platform/k8s/*.yaml are read as Docker Compose and Kubernetes read
them (YAML with anchors); their environment must name only settings that config/settings reads
(a misspelt variable is silently ignored by Django), and the commands must be the standard ones.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PLATFORM = ROOT / "platform"
# Read by libraries or the image rather than by our settings.
EXTERNAL = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DJANGO_SETTINGS_MODULE",
            "PYTHONUNBUFFERED", "POD_IP"}
REQUIRED = {"DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY", "S3_BUCKET", "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY"}


def settings_read() -> set[str]:
    """Every environment variable the settings and gunicorn's config read."""
    text = (ROOT / "config/settings/base.py").read_text()
    names = set(re.findall(r'env\.\w+\(\s*"([A-Z0-9_]+)"', text))
    names |= set(re.findall(r'os\.environ\.get\(\s*"([A-Z0-9_]+)"',
                            (ROOT / "config/gunicorn.py").read_text()))
    assert {"DATABASE_URL", "S3_BUCKET", "WEB_CONCURRENCY", "Q_WORKERS"} <= names
    return names


def compose() -> dict:
    return yaml.safe_load((PLATFORM / "compose.yaml").read_text())


def k8s() -> list[dict]:
    docs = []
    for path in sorted((PLATFORM / "k8s").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def test_compose_runs_the_whole_stack_with_health_checks():
    services = compose()["services"]
    assert {"db", "redis", "s3", "s3-bucket", "migrate", "web", "worker", "prometheus"} <= set(
        services)
    assert services["web"]["command"][:3] == ["gunicorn", "-c", "config/gunicorn.py"]
    assert services["worker"]["command"] == ["python", "manage.py", "qcluster"]
    assert services["migrate"]["command"][:3] == ["python", "manage.py", "migrate"]
    assert services["migrate"]["restart"] == "no"
    for name in ("db", "redis", "s3", "web"):
        assert services[name]["healthcheck"]["test"], name
    for name in ("web", "worker"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert deps["db"]["condition"] == "service_healthy"
    assert services["worker"]["deploy"]["replicas"] >= 2
    # Web and workers share no disk: files are in the bucket.
    assert "volumes" not in services["web"] and "volumes" not in services["worker"]
    assert services["web"]["environment"]["S3_ENDPOINT_URL"] == "http://s3:9000"


def test_compose_environment_names_only_settings_the_code_reads():
    known = settings_read() | EXTERNAL
    services = compose()["services"]
    for name in ("migrate", "web", "worker"):
        env = set(services[name]["environment"])
        assert env - known == set(), (name, env - known)
        assert REQUIRED <= env, (name, REQUIRED - env)


def test_prometheus_scrapes_the_web_service_compose_defines():
    config = yaml.safe_load((PLATFORM / "prometheus/prometheus.yml").read_text())
    targets = config["scrape_configs"][0]["static_configs"][0]["targets"]
    assert targets == ["web:8000"] and config["scrape_configs"][0]["metrics_path"] == "/metrics"
    assert "web" in compose()["services"]


def test_kubernetes_manifests_hold_web_workers_migrate_settings_and_autoscaling():
    docs = k8s()
    by_kind: dict[str, list[dict]] = {}
    for doc in docs:
        assert doc["apiVersion"] and doc["metadata"]["name"]
        by_kind.setdefault(doc["kind"], []).append(doc)
    deployments = {d["metadata"]["name"]: d for d in by_kind["Deployment"]}
    web = deployments["modelworks-web"]["spec"]["template"]["spec"]["containers"][0]
    worker = deployments["modelworks-worker"]["spec"]["template"]["spec"]["containers"][0]
    assert web["command"][:3] == ["gunicorn", "-c", "config/gunicorn.py"]
    assert web["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": 8000}
    assert web["livenessProbe"]
    assert worker["command"] == ["python", "manage.py", "qcluster"]
    job = by_kind["Job"][0]["spec"]["template"]["spec"]["containers"][0]
    assert job["command"][:3] == ["python", "manage.py", "migrate"]
    service = by_kind["Service"][0]
    assert service["spec"]["selector"] == deployments["modelworks-web"]["spec"]["selector"][
        "matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == web["ports"][0]["containerPort"]
    hpa = by_kind["HorizontalPodAutoscaler"][0]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "modelworks-worker"
    assert hpa["metrics"][0]["external"]["metric"]["name"] == "modelworks_queue_length"

    known = settings_read() | EXTERNAL
    config = by_kind["ConfigMap"][0]["data"]
    secret = by_kind["Secret"][0]["stringData"]
    env = set(config) | set(secret)
    for container in (web, worker, job):
        assert container["envFrom"] == [{"configMapRef": {"name": "modelworks"}},
                                        {"secretRef": {"name": "modelworks"}}]
        env_here = env | {e["name"] for e in container.get("env", [])}
        assert env_here - known == set(), env_here - known
        assert REQUIRED <= env_here


def test_the_queue_length_the_autoscaler_reads_is_exported(client, db):
    assert "modelworks_queue_length" in client.get("/metrics").content.decode()
