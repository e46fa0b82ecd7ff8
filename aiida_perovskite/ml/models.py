"""The estimators of the method's model families and of the baselines, with their search grids."""

from __future__ import annotations

import dataclasses

from sklearn.base import BaseEstimator
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Lasso, LinearRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .settings import MODEL_FAMILIES, TrainingSettings

#: Name of the last step of the linear pipelines (prefix of their grid parameters).
MODEL_STEP = 'model'


@dataclasses.dataclass
class ModelSpec:
    """One model to evaluate: an unfitted estimator, its grid and the feature columns it sees."""

    name: str
    estimator: BaseEstimator
    grid: dict[str, list]
    #: Feature names the model uses (``None``: all the task's features).
    features: list[str] | None = None
    is_baseline: bool = False


def family_spec(family: str, settings: TrainingSettings) -> ModelSpec:
    """The estimator of ``family`` and its grid; linear models learn their scaling inside each training split."""
    grid = settings.grids[family]
    if family == 'random_forest':
        # n_jobs=1 inside: parallelism, if any, is spent on the grid search.
        forest = RandomForestRegressor(n_estimators=settings.n_estimators, random_state=settings.seed, n_jobs=1)
        return ModelSpec(family, forest, dict(grid))
    linear = {
        'ols': LinearRegression(),
        'lasso': Lasso(max_iter=settings.lasso_max_iter),
        'ridge': Ridge(),
    }
    if family not in linear:
        raise ValueError(f'unknown model family {family!r}; known: {MODEL_FAMILIES}')
    pipeline = Pipeline([('scale', StandardScaler()), (MODEL_STEP, linear[family])])
    return ModelSpec(family, pipeline, {f'{MODEL_STEP}__{name}': values for name, values in grid.items()})


def baseline_mean_spec() -> ModelSpec:
    """Predicts the training mean: any useful model must beat it."""
    return ModelSpec('baseline_mean', DummyRegressor(strategy='mean'), {}, is_baseline=True)


def baseline_volume_spec(features: list[str]) -> ModelSpec:
    """Least squares on the CIF's own volume per atom (and the temperature for per-temperature rows)."""
    pipeline = Pipeline([('scale', StandardScaler()), (MODEL_STEP, LinearRegression())])
    return ModelSpec('baseline_cif_volume', pipeline, {}, features=list(features), is_baseline=True)
