"""The load test's users (run by bench/load.py; locust's own CLI, headless).

Each user signs in to the pages with a password and calls the API with a token, as a team
member does during a working day: page views, API lists, predictions, CSV uploads, new
experiments. Every object created is remembered, and every 5xx counted, in a JSON file that
bench/load.py reads after the run (LOAD_RESULTS).
"""

from __future__ import annotations

import json
import os
import random

from locust import HttpUser, between, events, task

TOKEN = os.environ["LOAD_TOKEN"]
USERNAME, PASSWORD = os.environ["LOAD_USER"], os.environ["LOAD_PASSWORD"]
DATASET, MODEL = int(os.environ["LOAD_DATASET"]), int(os.environ["LOAD_MODEL"])
API = "/api/v1/workspaces/ops"
CSV = "a,b,c,target\n" + "".join(
    f"{i * 0.1:.1f},{i % 7},{'xyz'[i % 3]},{'yes' if i % 2 else 'no'}\n" for i in range(200))
created: dict[str, list[int]] = {"datasets": [], "experiments": []}
server_errors: list[str] = []


@events.request.add_listener
def _count_5xx(request_type: str, name: str, response: object, **_: object) -> None:
    status = getattr(response, "status_code", 0) or 0
    if status >= 500:
        server_errors.append(f"{request_type} {name} -> {status}")


@events.quitting.add_listener
def _save(environment: object, **_: object) -> None:
    with open(os.environ["LOAD_RESULTS"], "w") as fh:
        json.dump({"created": created, "server_errors": server_errors}, fh)


class TeamMember(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        self.api_headers = {"Authorization": f"Token {TOKEN}"}
        self.client.get("/accounts/login/", name="page: sign-in")
        token = self.client.cookies.get("csrftoken", "")
        self.client.post("/accounts/login/", name="page: sign-in",
                         data={"login": USERNAME, "password": PASSWORD,
                               "csrfmiddlewaretoken": token},
                         headers={"Referer": self.host + "/accounts/login/"})

    @task(3)
    def pages(self) -> None:
        path = random.choice(["/w/ops/", "/w/ops/datasets/", "/w/ops/experiments/",
                              "/w/ops/models/", f"/w/ops/datasets/{DATASET}/"])
        self.client.get(path, name="page: " + path.replace(str(DATASET), "{id}"))

    @task(3)
    def lists(self) -> None:
        area = random.choice(["datasets", "experiments", "models"])
        self.client.get(f"{API}/{area}/", headers=self.api_headers, name=f"api: list {area}")

    @task(5)
    def predict(self) -> None:
        row = {"a": random.random(), "b": random.randint(0, 6), "c": random.choice("xyz")}
        self.client.post(f"{API}/models/{MODEL}/predict/", json={"rows": [row]},
                         headers=self.api_headers, name="api: predict")

    @task(1)
    def upload(self) -> None:
        with self.client.post(f"{API}/datasets/", headers=self.api_headers, name="api: upload",
                              files={"file": ("load.csv", CSV, "text/csv")},
                              catch_response=True) as response:
            if response.status_code == 201:
                created["datasets"].append(response.json()["id"])
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    @task(1)
    def experiment(self) -> None:
        body = {"dataset": DATASET, "target": "target", "algorithm": "linear",
                "validation": {"cv_folds": 0}}
        with self.client.post(f"{API}/experiments/", json=body, headers=self.api_headers,
                              name="api: new experiment", catch_response=True) as response:
            if response.status_code == 201:
                created["experiments"].append(response.json()["id"])
                response.success()
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")
