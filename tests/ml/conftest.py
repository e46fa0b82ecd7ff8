"""Fast settings and results trained once per session on synthetic tables (no AiiDA needed)."""

from __future__ import annotations

import pytest

from aiida_perovskite.ml import TrainingSettings, train

from .synthetic import linear_frame


@pytest.fixture(scope='session')
def fast_settings() -> TrainingSettings:
    """Small grids and forests: the method's recipe at a fraction of its cost."""
    return TrainingSettings(
        outer_folds=5,
        inner_folds=3,
        seed=0,
        n_estimators=25,
        learning_curve_sizes=(0.5, 1.0),
        permutation_repeats=2,
        n_jobs=1,
        grids={
            'lasso': {'alpha': [1e-4, 1e-2, 0.1]},
            'ridge': {'alpha': [0.1, 1.0, 10.0]},
            'random_forest': {'max_depth': [6], 'min_samples_leaf': [2], 'max_features': [0.5, 0.8]},
        },
    )


@pytest.fixture(scope='session')
def linear_data():
    """60 materials x 4 temperatures with linear targets and their R2 noise limits."""
    return linear_frame(n_materials=60, sigma=0.3, seed=0)


@pytest.fixture(scope='session')
def cp_u_result(linear_data, fast_settings):
    return train(linear_data[0], 'cp_u', fast_settings)


@pytest.fixture(scope='session')
def v_atom_result(linear_data, fast_settings):
    return train(linear_data[0], 'v_atom', fast_settings)


@pytest.fixture(scope='session')
def stacked_result(linear_data, fast_settings):
    return train(linear_data[0], 'v_atom_stacked', fast_settings, families=('ridge', 'random_forest'))
