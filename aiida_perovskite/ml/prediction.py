"""Predictions of a fitted model for new materials, with the spread over the trees of a forest."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesRegressor, RandomForestRegressor
from sklearn.pipeline import Pipeline

from .tasks import TEMPERATURE_FEATURE, ZERO_FILLED_FAMILY_PREFIX, family_of


def predict(estimator, frame_or_X, feature_names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Mean prediction and its spread: the std over the trees of a random forest, NaN for other models.

    ``frame_or_X`` is a table with the feature columns (extra columns are ignored; ``thermo:temperature`` is
    taken from ``temperature`` when absent; absent ``jdd*`` fragment counts are 0) or a matrix whose columns
    are ``feature_names`` in that order.
    """
    return predict_matrix(estimator, feature_matrix(frame_or_X, feature_names))


def feature_matrix(frame_or_X, feature_names: list[str]) -> np.ndarray:
    """The columns ``feature_names`` of a table (or a checked matrix) as a float array."""
    feature_names = list(feature_names)
    if not isinstance(frame_or_X, pd.DataFrame):
        matrix = np.asarray(frame_or_X, dtype=float)
        if matrix.ndim != 2 or matrix.shape[1] != len(feature_names):
            raise ValueError(f'expected a matrix with {len(feature_names)} columns, got shape {matrix.shape}')
        _require_finite(matrix, feature_names)
        return matrix

    frame = frame_or_X
    columns = {}
    missing = []
    for name in feature_names:
        if name in frame.columns:
            columns[name] = frame[name].to_numpy(dtype=float)
        elif name == TEMPERATURE_FEATURE and 'temperature' in frame.columns:
            columns[name] = frame['temperature'].to_numpy(dtype=float)
        elif family_of(name).startswith(ZERO_FILLED_FAMILY_PREFIX):
            # A fragment the material lacks: its count is zero, not unknown.
            columns[name] = np.zeros(len(frame))
        else:
            missing.append(name)
    if missing:
        raise ValueError(f'the table lacks the feature columns {missing}')
    matrix = np.column_stack([columns[name] for name in feature_names]) if feature_names else np.empty((len(frame), 0))
    _require_finite(matrix, feature_names)
    return matrix


def predict_matrix(estimator, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean prediction and the std over trees (forests) or NaN (other models) for a ready matrix."""
    mean = np.asarray(estimator.predict(X), dtype=float)
    forest, transformed = _final_step(estimator, X)
    if isinstance(forest, (RandomForestRegressor, ExtraTreesRegressor)):
        per_tree = np.stack([tree.predict(transformed) for tree in forest.estimators_])
        return mean, per_tree.std(axis=0)
    return mean, np.full(len(mean), np.nan)


def _final_step(estimator, X: np.ndarray):
    """The last estimator of a pipeline and the input it receives."""
    if isinstance(estimator, Pipeline):
        return estimator[-1], estimator[:-1].transform(X) if len(estimator) > 1 else X
    return estimator, X


def _require_finite(matrix: np.ndarray, feature_names: list[str]) -> None:
    bad = [name for name, ok in zip(feature_names, np.isfinite(matrix).all(axis=0), strict=True) if not ok]
    if bad:
        raise ValueError(f'feature columns with NaN or infinite values: {bad}')
