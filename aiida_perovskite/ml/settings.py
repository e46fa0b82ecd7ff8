"""Settings of a training run (folds, seed, forest size, grids) with a JSON round trip."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

#: The method's model families, in the order they are reported.
MODEL_FAMILIES = ('ols', 'lasso', 'ridge', 'random_forest')

#: Reference models evaluated on the same outer folds as the families.
BASELINES = ('baseline_mean', 'baseline_cif_volume')


def method_grids() -> dict[str, dict[str, list]]:
    """The method's hyperparameter grids (thesis section 4.4) as plain, JSON-friendly lists."""
    return {
        'ols': {},
        'lasso': {'alpha': np.logspace(-10, 1, 40).tolist()},
        'ridge': {'alpha': np.linspace(0.1, 200, 40).tolist()},
        'random_forest': {
            'max_depth': [4, 6, 8],
            'min_samples_leaf': [2, 3, 5],
            'max_features': [0.3, 0.5, 0.8],
        },
    }


@dataclasses.dataclass
class TrainingSettings:
    """Everything that decides the outcome of :func:`aiida_perovskite.ml.train` besides the data.

    ``grids`` maps a family to ``{parameter: [values]}`` (parameter names of the bare estimator, without
    pipeline prefixes); families left out keep the method's grid.
    """

    outer_folds: int = 5
    inner_folds: int = 4
    seed: int = 0
    n_estimators: int = 200
    learning_curve_sizes: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0)
    permutation_repeats: int = 5
    n_jobs: int = 1
    # With more features than training materials the tiny alphas of the grid never converge (the solution is not
    # unique): a higher limit costs minutes and rescues few of them. Unconverged fits are counted, not hidden.
    lasso_max_iter: int = 10_000
    grids: dict[str, dict[str, list]] = dataclasses.field(default_factory=method_grids)
    #: Force-field columns (``protocol``, ``charge_method``, ``charge_model``, ``parameter_set``) whose values
    #: may differ between the rows; by default a table mixing any of them is refused.
    allow_mixed: tuple[str, ...] = ()

    def __post_init__(self):
        from .tasks import FORCE_FIELD_COLUMNS

        self.allow_mixed = (self.allow_mixed,) if isinstance(self.allow_mixed, str) else tuple(self.allow_mixed)
        unknown = sorted(set(self.allow_mixed) - set(FORCE_FIELD_COLUMNS))
        if unknown:
            raise ValueError(f'allow_mixed names unknown columns {unknown}; known: {sorted(FORCE_FIELD_COLUMNS)}')
        for name in ('outer_folds', 'inner_folds'):
            if int(getattr(self, name)) < 2:
                raise ValueError(f'{name} must be at least 2, got {getattr(self, name)!r}')
        for name in ('n_estimators', 'permutation_repeats', 'lasso_max_iter'):
            if int(getattr(self, name)) < 1:
                raise ValueError(f'{name} must be at least 1, got {getattr(self, name)!r}')
        if int(self.seed) < 0:
            raise ValueError(f'seed must be a non-negative integer, got {self.seed!r}')
        if int(self.n_jobs) == 0:
            raise ValueError('n_jobs must be a positive count or -1 (all cores), not 0')
        self.learning_curve_sizes = tuple(float(size) for size in self.learning_curve_sizes)
        if not self.learning_curve_sizes or not all(0 < size <= 1 for size in self.learning_curve_sizes):
            raise ValueError(f'learning_curve_sizes must be fractions in (0, 1], got {self.learning_curve_sizes}')
        unknown = set(self.grids) - set(MODEL_FAMILIES)
        if unknown:
            raise ValueError(f'grids for unknown model families {sorted(unknown)}; known: {MODEL_FAMILIES}')
        grids = method_grids()
        for family, grid in self.grids.items():
            grids[family] = {parameter: _plain_list(family, parameter, values) for parameter, values in grid.items()}
        self.grids = grids

    def as_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy (tuples become lists)."""
        data = dataclasses.asdict(self)
        data['learning_curve_sizes'] = list(self.learning_curve_sizes)
        data['allow_mixed'] = list(self.allow_mixed)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingSettings:
        """Inverse of :meth:`as_dict`; unknown keys are an error rather than silently dropped."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f'unknown training settings {sorted(unknown)}; known: {sorted(known)}')
        return cls(**data)


def _plain_list(family: str, parameter: str, values) -> list:
    """Grid values as a non-empty list of JSON-friendly Python scalars."""
    if isinstance(values, (str, bytes)) or not hasattr(values, '__iter__'):
        values = [values]
    values = [value.item() if isinstance(value, np.generic) else value for value in values]
    if not values:
        raise ValueError(f'the grid of {family} has no values for {parameter}')
    for value in values:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f'the grid of {family} has a non-finite value for {parameter}: {value}')
    return values
