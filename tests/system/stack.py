"""The platform as an operator runs it, started from its real parts on loopback.

`Stack` starts gunicorn (2 workers), any number of `manage.py qcluster` processes, on a
throw-away database (a SQLite file, or a new PostgreSQL database on the local server), the ORM
or the Redis broker, and local disk or an S3-compatible server (`S3Server`: moto in server
mode). Every process is in its own session so a test can SIGKILL one as a crash would.

Used by the system tests (tests/system) and the load test (bench/load.py). Nothing here talks
to anything but 127.0.0.1.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("SYSTEM_PG_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("SYSTEM_REDIS_URL", "redis://127.0.0.1:6379/14")
_numbers = itertools.count()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Any, *, timeout: float, interval: float = 0.25, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what or predicate}")


class S3Server:
    """An S3-compatible server (moto) on a loopback port, with one bucket."""

    ACCESS_KEY, SECRET_KEY, REGION = "testing-key", "testing-secret", "us-east-1"

    def __init__(self, bucket: str = "modelworks") -> None:
        self.bucket = bucket
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkdtemp(prefix="modelworks-s3-")) / "moto.log"

    def start(self, *, create_bucket: bool = True) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

        def up() -> bool:
            try:
                return requests.get(f"{self.url}/moto-api/", timeout=2).status_code < 500
            except requests.RequestException:
                return False

        wait_until(up, timeout=30, what="the S3 server")
        if create_bucket:
            self.client().create_bucket(Bucket=self.bucket)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=self.ACCESS_KEY,
                            aws_secret_access_key=self.SECRET_KEY, region_name=self.REGION)

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def env(self) -> dict[str, str]:
        return {"S3_BUCKET": self.bucket, "S3_ENDPOINT_URL": self.url,
                "AWS_ACCESS_KEY_ID": self.ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": self.SECRET_KEY,
                "S3_REGION": self.REGION}


class Stack:
    """Web (gunicorn) and workers (qcluster) on one database, broker and file store."""

    def __init__(self, *, database: str = "sqlite", redis: bool = False,
                 s3: S3Server | None = None, **env: str) -> None:
        self.data = Path(tempfile.mkdtemp(prefix="modelworks-system-"))
        self.database = database
        self.db_name = f"modelworks_system_{os.getpid()}_{next(_numbers)}"
        self.env = dict(
            os.environ, DATA_DIR=str(self.data), Q_SYNC="0", Q_WORKERS="2",
            DJANGO_SETTINGS_MODULE="config.settings.base", DJANGO_DEBUG="false",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(64), DJANGO_HTTPS="false",
            Q_CLUSTER_NAME=f"system{os.getpid()}x{next(_numbers)}",
            API_THROTTLE_USER="off", API_THROTTLE_ANON="off", API_THROTTLE_LOGIN="off",
            WORKSPACE_MAX_ACTIVE_JOBS="0", TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
            GUNICORN_ACCESS_LOG="", OMP_NUM_THREADS="1")
        for name in ("DATABASE_URL", "REDIS_URL", "STORAGE_BACKEND", "STORAGE_OPTIONS",
                     "MODELWORKS_TEST_DB_NAME", "S3_BUCKET"):
            self.env.pop(name, None)
        if database == "postgres":
            self.env["DATABASE_URL"] = f"{PG_URL}/{self.db_name}"
        if redis:
            self.env["REDIS_URL"] = REDIS_URL
        if s3 is not None:
            self.env.update(s3.env())
        self.env.update(env)
        self.web: subprocess.Popen[bytes] | None = None
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.url = ""
        self.token = ""

    # ------------------------------------------------------------ set-up

    def manage(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], cwd=ROOT,
                              env=self.env, capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def setup(self) -> None:
        """Create the database, migrate, and make a user `ops` with a workspace and a token."""
        if self.database == "postgres":
            self._pg(f'CREATE DATABASE "{self.db_name}"')
        if "REDIS_URL" in self.env:
            import redis

            redis.Redis.from_url(self.env["REDIS_URL"]).flushdb()
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput", "-v0")  # as `make run` and the image do
        script = (
            "from django.contrib.auth import get_user_model\n"
            "from apps.accounts.services import token_create, workspace_create\n"
            "u = get_user_model().objects.create_user('ops', password='ops-pw-12345')\n"
            "workspace_create(name='Ops', owner=u)\n"
            "print(token_create(user=u, name='system')[1])\n"
        )
        self.token = self.manage("shell", "-c", script).strip().splitlines()[-1]

    def _pg(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
            conn.execute(sql)

    def _spawn(self, name: str, args: list[str], **env: str) -> subprocess.Popen[bytes]:
        with open(self.data / f"{name}.log", "ab") as log:
            return subprocess.Popen(args, cwd=ROOT, env=dict(self.env, **env), stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def start_web(self, workers: int = 2, **env: str) -> str:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.web = self._spawn("web", [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py",
                                       "config.wsgi"], GUNICORN_BIND=f"127.0.0.1:{port}",
                               WEB_CONCURRENCY=str(workers), **env)

        def up() -> bool:
            try:
                return requests.get(f"{self.url}/healthz", timeout=10).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, timeout=90, what="gunicorn's /healthz")
        return self.url

    def start_worker(self, name: str = "worker", **env: str) -> subprocess.Popen[bytes]:
        proc = self._spawn(name, [sys.executable, str(ROOT / "manage.py"), "qcluster"], **env)
        time.sleep(1.0)
        if proc.poll() is not None:
            raise RuntimeError(f"qcluster {name} exited at start:\n{self.log(name)}")
        self.workers[name] = proc
        return proc

    def kill_worker(self, name: str) -> None:
        """SIGKILL the whole cluster (sentinel, pusher, workers, job children): a dead machine."""
        proc = self.workers.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def log(self, name: str) -> str:
        path = self.data / f"{name}.log"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    def stop(self) -> None:
        procs = [p for p in [self.web, *self.workers.values()] if p is not None]
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.web, self.workers = None, {}
        if self.database == "postgres":
            try:
                self._pg(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            except Exception:  # the server itself may be what a test stopped
                pass
        shutil.rmtree(self.data, ignore_errors=True)

    # ------------------------------------------------------------ the API, as a client

    def session(self) -> requests.Session:
        http = requests.Session()
        http.headers["Authorization"] = f"Token {self.token}"
        return http

    @property
    def api(self) -> str:
        return f"{self.url}/api/v1/workspaces/ops"

    def shell(self, script: str) -> Any:
        """Run Python in a Django shell of this stack; return the JSON its last line prints."""
        return json.loads(self.manage("shell", "-c", script).strip().splitlines()[-1])
