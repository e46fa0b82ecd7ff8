"""The stacked feature of ``v_atom_stacked``: a per-material model's prediction of a material's mean V_atom.

Leakage is avoided fold by fold: the training rows get out-of-fold predictions (the per-material model never
saw their material), the test rows get the prediction of the per-material model fitted on all training
materials.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_predict

from .splits import MaterialFolds


def per_material_rows(X_static: np.ndarray, y: np.ndarray, groups: np.ndarray):
    """One row per material: its (constant) static features and the mean of ``y`` over its rows."""
    materials, first, inverse = np.unique(groups, return_index=True, return_inverse=True)
    mean_y = np.bincount(inverse, weights=y) / np.bincount(inverse)
    return materials, X_static[first], mean_y


def stack_feature(
    estimator,
    grid: dict,
    X_static: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    *,
    inner_folds: int,
    seed: int,
    n_jobs: int = 1,
    params: dict | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """The stacked feature for the ``train`` and ``test`` rows, and the per-material model's parameters.

    ``params`` reuses hyperparameters tuned before (learning curves); otherwise they are tuned by a grid search
    over the training materials only.
    """
    materials, X_material, y_material = per_material_rows(X_static[train], y[train], groups[train])
    # The same seed and materials give the same material folds as the second stage's inner grid search, so an
    # inner-validation material's stacked feature comes from a model of exactly the inner-training materials.
    folds = MaterialFolds(min(inner_folds, len(materials)), seed)
    if params is None:
        search = GridSearchCV(clone(estimator), grid, cv=folds, scoring='r2', n_jobs=n_jobs)
        search.fit(X_material, y_material, groups=materials)
        params = search.best_params_
    model = clone(estimator).set_params(**params)
    out_of_fold = cross_val_predict(model, X_material, y_material, groups=materials, cv=folds)
    model.fit(X_material, y_material)

    test_materials, X_test_material, _ = per_material_rows(X_static[test], y[test], groups[test])
    test_prediction = model.predict(X_test_material)
    train_feature = out_of_fold[np.searchsorted(materials, groups[train])]
    test_feature = test_prediction[np.searchsorted(test_materials, groups[test])]
    return train_feature, test_feature, dict(params)
