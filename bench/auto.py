"""auto against plain defaults and its own best single model, per data set, at two budgets.

Run: .venv/bin/python -P bench/auto.py [--budgets 10,60] [--only name,name] [--json out.json]

Each data set is split as the engine splits it (80/20, stratified for classes, seed 42). On the
80 % the script runs:

- `auto` through the engine (`ml.train.train`, `algorithm: auto`, `time_budget_s` = 10 and 60)
  and reads its holdout score, the search time it recorded against the budget, and what won;
- the best plain default: what a practitioner writes by hand in a few lines - median / most
  frequent imputation, one-hot encoding, scikit-learn's LogisticRegression (or Ridge), random
  forest, extra trees and HistGradientBoosting with their default parameters - each scored on
  the same holdout, the best of them kept (picked on the holdout itself: an optimistic anchor);
- the best single model of the portfolio: the top single candidate of the 60 s search, trained
  alone by the engine and scored on the same holdout.

Scores are f1_macro (classes) and r2 (numbers) on the 20 % holdout. Data sets: the ones
scikit-learn ships (no downloads) and generated tables with categories and missing values.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.tables import mixed_table  # noqa: E402

SEED = 42


def _with_holes(frame: pd.DataFrame, columns: list[str], share: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for column in columns:
        frame.loc[rng.random(len(frame)) < share, column] = np.nan


def datasets() -> dict[str, tuple[pd.DataFrame, str, str]]:
    """name -> (frame, target, task)."""
    from sklearn import datasets as sk

    out: dict[str, tuple[pd.DataFrame, str, str]] = {}
    cancer = sk.load_breast_cancer(as_frame=True).frame
    out["breast_cancer"] = (cancer, "target", "classification")
    wine = sk.load_wine(as_frame=True).frame
    out["wine"] = (wine, "target", "classification")
    digits = sk.load_digits(as_frame=True).frame
    out["digits"] = (digits, "target", "classification")
    diabetes = sk.load_diabetes(as_frame=True).frame
    out["diabetes"] = (diabetes, "target", "regression")

    mixed = mixed_table(20_000, seed=1)
    out["mixed_20k"] = (mixed, "target", "classification")  # issue #10's table: 3 text columns

    rng = np.random.default_rng(2)
    X, y = sk.make_friedman1(n_samples=8000, n_features=8, noise=1.0, random_state=2)
    friedman = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    friedman["region"] = rng.choice(["north", "south", "east", "west", "centre"], len(y))
    shift = {"north": 0.0, "south": 2.0, "east": -1.5, "west": 1.0, "centre": 0.5}
    friedman["y"] = y + friedman["region"].map(shift).to_numpy()
    _with_holes(friedman, ["x0", "x3", "x5"], 0.05, 3)
    out["friedman_cat"] = (friedman, "y", "regression")

    X, y = sk.make_classification(n_samples=10_000, n_features=15, n_informative=8,
                                  n_classes=3, n_clusters_per_class=2, flip_y=0.03,
                                  random_state=4)
    multi = pd.DataFrame(X, columns=[f"f{i}" for i in range(15)])
    levels = np.array([f"shop_{i}" for i in range(60)], dtype=object)
    codes = rng.integers(0, 60, len(y))
    multi["shop"] = levels[codes]
    y = np.where((codes % 7 == 0) & (rng.random(len(y)) < 0.5), (y + 1) % 3, y)
    multi["label"] = np.array(["red", "green", "blue"], dtype=object)[y]
    _with_holes(multi, ["f0", "f1", "f2", "f7"], 0.08, 5)
    out["multiclass_cat"] = (multi, "label", "classification")

    n = 15_000
    hicard = pd.DataFrame({"area": rng.normal(80, 25, n), "rooms": rng.integers(1, 7, n),
                           "age": rng.integers(0, 90, n).astype(float),
                           "street": rng.choice([f"street_{i}" for i in range(800)], n),
                           "kind": rng.choice(["flat", "house", "loft"], n, p=[.6, .3, .1])})
    street_effect = np.random.default_rng(6).normal(0, 30, 800)
    price = (hicard.area * 3 + hicard.rooms * 10 - hicard.age * 0.5
             + street_effect[hicard.street.str.slice(7).astype(int)]
             + hicard.kind.map({"flat": 0, "house": 40, "loft": 25}).to_numpy()
             + rng.normal(0, 15, n))
    hicard["price"] = price
    _with_holes(hicard, ["age", "area"], 0.04, 7)
    out["prices_hicard"] = (hicard, "price", "regression")
    return out


def _split(frame: pd.DataFrame, target: str, task: str) -> tuple[Any, ...]:
    """The engine's own split (ml.train._split with its defaults)."""
    from sklearn.model_selection import train_test_split

    X = frame.drop(columns=[target]).reset_index(drop=True)
    y = frame[target].reset_index(drop=True)
    if task == "classification":
        y = y.astype(str) if y.dtype == object else y
    n_test = math.ceil(len(y) * 0.2)
    return train_test_split(X, y.to_numpy(), test_size=n_test, random_state=SEED, shuffle=True,
                            stratify=y.to_numpy() if task == "classification" else None)


def _score(task: str, y_true: Any, y_pred: Any) -> float:
    from sklearn.metrics import f1_score, r2_score

    if task == "classification":
        return float(f1_score(y_true, y_pred, average="macro"))
    return float(r2_score(y_true, y_pred))


def plain_defaults(frame: pd.DataFrame, target: str, task: str) -> tuple[str, float, float]:
    """The best of scikit-learn's defaults with by-hand preprocessing: (name, score, seconds)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X_train, X_test, y_train, y_test = _split(frame, target, task)
    text = [c for c in X_train.columns if X_train[c].dtype == object or
            str(X_train[c].dtype) in ("str", "string")]
    numbers = [c for c in X_train.columns if c not in text]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
         text),
    ])
    cls = task == "classification"
    models = {
        "linear": LogisticRegression(max_iter=1000) if cls else Ridge(),
        "random_forest": (RandomForestClassifier if cls else RandomForestRegressor)(
            random_state=0),
        "extra_trees": (ExtraTreesClassifier if cls else ExtraTreesRegressor)(random_state=0),
        "hist_gradient_boosting": (HistGradientBoostingClassifier if cls
                                   else HistGradientBoostingRegressor)(random_state=0),
    }
    best = ("", -math.inf, 0.0)
    for name, model in models.items():
        started = time.monotonic()
        pipeline = make_pipeline(prep, model).fit(X_train, y_train)
        score = _score(task, y_test, pipeline.predict(X_test))
        if score > best[1]:
            best = (name, score, time.monotonic() - started)
    return best


def run_auto(frame: pd.DataFrame, target: str, task: str, budget: float) -> dict[str, Any]:
    from ml.config import TrainConfig
    from ml.train import train

    config = TrainConfig.from_dict({"target": target, "task": task, "algorithm": "auto",
                                    "time_budget_s": budget}, columns=list(frame.columns))
    started = time.monotonic()
    result = train(frame, config)
    primary = "f1_macro" if task == "classification" else "r2"
    singles = [r for r in result.leaderboard
               if r["algorithm"] != "ensemble" and r["mean_score"] is not None]
    return {"score": result.metrics[primary], "search_s": result.timings["search"],
            "wall_s": time.monotonic() - started, "winner": result.algorithm,
            "members": [m["algorithm"] for m in result.ensemble], "tried": len(singles),
            "best_single": singles[0] if singles else None,
            "clock": any("cut the search short" in line for line in result.log)}


def best_single(frame: pd.DataFrame, target: str, task: str, row: dict[str, Any]) -> float:
    """The portfolio's best single candidate (by CV) trained alone, on the holdout."""
    from ml.config import TrainConfig
    from ml.train import train

    params = dict(row["params"])
    preprocessing = params.pop("preprocessing", {})  # a portfolio entry's own encoding
    config = TrainConfig.from_dict({"target": target, "task": task,
                                    "algorithm": row["algorithm"], "params": params,
                                    "preprocessing": preprocessing,
                                    "validation": {"cv_folds": 0}}, columns=list(frame.columns))
    result = train(frame, config)
    return float(result.metrics["f1_macro" if task == "classification" else "r2"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budgets", default="10,60")
    parser.add_argument("--only", default="")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    budgets = [float(b) for b in args.budgets.split(",")]
    chosen = set(filter(None, args.only.split(",")))
    report = []
    print(f"{'data set':16} {'task':5} {'rows':>6} {'plain best':>22} {'best single':>20} "
          + " ".join(f"{'auto ' + format(b, 'g') + ' s':>34}" for b in budgets))
    for name, (frame, target, task) in datasets().items():
        if chosen and name not in chosen:
            continue
        plain_name, plain_score, _ = plain_defaults(frame, target, task)
        autos = {b: run_auto(frame, target, task, b) for b in budgets}
        top = autos[max(budgets)]["best_single"]
        single = best_single(frame, target, task, top) if top else math.nan
        cells = []
        for b in budgets:
            a = autos[b]
            won = a["winner"] if a["winner"] != "ensemble" else f"ens({len(a['members'])})"
            cells.append(f"{a['score']:.4f} {a['search_s']:5.1f}s/{b:g} {won[:14]:>14}")
        print(f"{name:16} {task[:5]:5} {len(frame):>6} {plain_score:.4f} {plain_name[:14]:>15} "
              f"{single:.4f} {top['algorithm'][:12] if top else '-':>13} " + " ".join(
                  f"{c:>34}" for c in cells), flush=True)
        report.append({"data": name, "task": task, "rows": len(frame),
                       "plain": {"model": plain_name, "score": plain_score},
                       "best_single": {"model": top and top["algorithm"],
                                       "params": top and top["params"], "score": single},
                       "auto": {str(b): a for b, a in autos.items()}})
    gaps = {b: [r["auto"][str(b)]["score"] - max(r["plain"]["score"], r["best_single"]["score"])
                for r in report] for b in budgets}
    for b in budgets:
        within = sum(g >= -0.005 for g in gaps[b])
        kept = sum(r["auto"][str(b)]["search_s"] <= b + max(0.1 * b, 5) for r in report)
        print(f"auto {b:g} s: mean difference to the better of (plain best, best single) "
              f"{np.mean(gaps[b]):+.4f}; within 0.005 or better on {within} of {len(report)}; "
              f"budget kept on {kept} of {len(report)}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))


if __name__ == "__main__":
    main()
