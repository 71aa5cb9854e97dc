"""Weighted ensembles of fitted pipelines, chosen by greedy forward selection.

`greedy_selection` is Caruana et al. (2004), "Ensemble selection from libraries of models": start
from nothing, repeatedly add (with replacement) the model whose addition gives the best score of
the averaged out-of-fold predictions, and keep the best prefix. The weights are how often each
model was added. Because its first step adds the best single model and the best prefix is kept,
the ensemble's out-of-fold score is never below that model's.

`EnsembleClassifier` / `EnsembleRegressor` are scikit-learn's soft VotingClassifier /
VotingRegressor over members that are already fitted (each a whole pipeline with its own
preprocessing): predictions average the members' probabilities (or values) with the weights.
They pickle into the signed bundle like any estimator, serve through `EnginePipeline` (each
member takes the fast path), and skl2onnx converts them when every member converts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.ensemble import VotingClassifier, VotingRegressor
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import Bunch

Score = Callable[[np.ndarray], float]


def greedy_selection(predictions: list[np.ndarray], score: Score, *, iterations: int = 25,
                     max_members: int = 5) -> tuple[dict[int, int], float]:
    """Return ({model index: times chosen}, best score) — higher scores are better.

    `predictions[i]` are model i's out-of-fold predictions (probabilities or values), all the
    same shape; `score(blend)` scores an average of them. At most `max_members` distinct models
    enter; ties go to the earlier model (the better single one, when ranked).
    """
    if not predictions:
        return {}, float("-inf")
    total = np.zeros_like(predictions[0], dtype=np.float64)
    counts: dict[int, int] = {}
    best_counts: dict[int, int] = {}
    best_score = float("-inf")
    for step in range(1, iterations + 1):
        allowed = (range(len(predictions)) if len(counts) < max_members else sorted(counts))
        choice, choice_score = -1, float("-inf")
        for i in allowed:
            value = score((total + predictions[i]) / step)
            if value > choice_score + 1e-12:
                choice, choice_score = i, value
        if choice < 0:
            break
        total += predictions[choice]
        counts[choice] = counts.get(choice, 0) + 1
        if choice_score > best_score + 1e-12:
            best_score, best_counts = choice_score, dict(counts)
    return best_counts, best_score


def blend(predictions: list[np.ndarray], counts: dict[int, int]) -> np.ndarray:
    """The weighted average of the chosen models' predictions."""
    n = sum(counts.values())
    total = np.zeros_like(predictions[next(iter(counts))], dtype=np.float64)
    for i, c in counts.items():
        total = total + predictions[i] * c
    return total / n


class EnsembleClassifier(VotingClassifier):
    """Soft voting over fitted pipelines; `describe()` lists the members and weights."""

    @classmethod
    def from_fitted(cls, members: list[tuple[str, Any]], weights: list[float],
                    classes: Any) -> EnsembleClassifier:
        ensemble = cls(estimators=list(members), voting="soft", weights=list(weights))
        _set_fitted(ensemble, members)
        ensemble.le_ = LabelEncoder().fit(np.asarray(classes))
        ensemble.classes_ = ensemble.le_.classes_
        return ensemble

    def describe(self) -> list[dict[str, Any]]:
        """The members as the model card shows them: name and weight (summing to 1)."""
        return _describe(self)


class EnsembleRegressor(VotingRegressor):
    """Weighted average of fitted pipelines' predictions."""

    @classmethod
    def from_fitted(cls, members: list[tuple[str, Any]],
                    weights: list[float]) -> EnsembleRegressor:
        ensemble = cls(estimators=list(members), weights=list(weights))
        _set_fitted(ensemble, members)
        return ensemble

    def describe(self) -> list[dict[str, Any]]:
        """The members as the model card shows them: name and weight (summing to 1)."""
        return _describe(self)


def _set_fitted(ensemble: Any, members: list[tuple[str, Any]]) -> None:
    ensemble.estimators_ = [member for _name, member in members]
    ensemble.named_estimators_ = Bunch(**dict(members))


def _describe(ensemble: Any) -> list[dict[str, Any]]:
    weights = np.asarray(ensemble.weights, dtype=np.float64)
    weights = weights / weights.sum()
    return [{"member": name, "weight": round(float(w), 4)}
            for (name, _m), w in zip(ensemble.estimators, weights, strict=True)]


def is_ensemble(estimator: Any) -> bool:
    """Tell whether a fitted pipeline's final step (or the estimator itself) is an ensemble."""
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    return isinstance(final, EnsembleClassifier | EnsembleRegressor)
