"""Nested cross-validation by material, learning curves and grouped permutation importance of one model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from .models import ModelSpec
from .prediction import predict_matrix
from .settings import TrainingSettings
from .splits import MaterialFolds, assert_disjoint
from .stacking import stack_feature
from .tasks import STACK_FEATURE, TaskData, family_of

#: A fold whose test targets spread less than this share of the whole task's variance has no R2: its
#: denominator is near zero, so any error is magnified into an absurd number (-1e11 has been printed).
MIN_SPREAD_SHARE = 0.01
#: Fewest test materials a fold needs for an R2 across materials.
MIN_TEST_MATERIALS = 2


#: Shown as "< -10" rather than its digits: an R2 this low only says the model is far worse than the mean
#: (a mean squared error over ten times the variance); the exact value stays in the CSV tables.
R2_SHOWN_DOWN_TO = -10.0


def display_r2(value, digits: int = 3) -> str:
    """An R2, a difference of R2s or their spread for people: 'undefined' for NaN/None, and '< -10' / '> 10'
    beyond the floor (R2 is at most 1, so a difference or a spread that large only comes from such a fold)."""
    if value is None or not np.isfinite(float(value)):
        return 'undefined'
    if value < R2_SHOWN_DOWN_TO:
        return f'< {R2_SHOWN_DOWN_TO:g}'
    if value > -R2_SHOWN_DOWN_TO:
        return f'> {-R2_SHOWN_DOWN_TO:g}'
    return f'{float(value):.{digits}f}'


def r2_or_reason(y_true, y_pred, groups, task_variance: float) -> tuple[float, str | None]:
    """R2 of one fold, or NaN and why it is undefined (too few test materials, or targets with almost no spread).

    :param task_variance: the variance of the whole task's targets, the scale "almost no spread" is judged on.
    """
    y_true = np.asarray(y_true, dtype=float)
    materials = int(np.unique(np.asarray(groups)).size)
    if materials < MIN_TEST_MATERIALS:
        return float('nan'), f'{materials} test material{"s" if materials != 1 else ""} (R2 needs {MIN_TEST_MATERIALS})'
    spread = float(np.var(y_true))
    if not spread > MIN_SPREAD_SHARE * task_variance:
        share = spread / task_variance if task_variance > 0 else 0.0
        return float('nan'), (f'test targets spread {share:.1%} of the task\'s variance '
                              f'(under {MIN_SPREAD_SHARE:.0%}: R2 would magnify any error)')
    return float(r2_score(y_true, np.asarray(y_pred, dtype=float))), None


@dataclasses.dataclass
class FoldOutcome:
    """One outer fold of one model: tuned on the training materials, scored on the untouched test materials."""

    fold: int
    train: np.ndarray
    test: np.ndarray
    best_params: dict
    #: Mean R2 of the best parameters over the inner folds where it is defined (NaN where none is).
    val_r2: float
    #: NaN where undefined; the reason is in ``test_r2_undefined``.
    test_r2: float
    predicted: np.ndarray
    predicted_std: np.ndarray
    model: object
    X_test: np.ndarray
    feature_names: list[str]
    #: Hyperparameters of the per-material model of the stacked task (else None).
    first_stage_params: dict | None
    unconverged_fits: int
    #: Why ``val_r2`` / ``test_r2`` is undefined, or which inner folds were left out of ``val_r2`` (else None).
    val_r2_undefined: str | None = None
    test_r2_undefined: str | None = None


def _converged(estimator, X, y) -> float:
    """1 if the fitted (final) estimator stopped before its iteration limit: counts LASSO's silent failures."""
    final = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    n_iter, max_iter = getattr(final, 'n_iter_', None), getattr(final, 'max_iter', None)
    if n_iter is None or max_iter is None:
        return 1.0
    return float(np.max(n_iter) < max_iter)


def grid_search(spec: ModelSpec, settings: TrainingSettings) -> GridSearchCV:
    """Grid search scored by R2 over inner folds of whole materials."""
    return GridSearchCV(
        clone(spec.estimator),
        spec.grid,
        cv=MaterialFolds(settings.inner_folds, settings.seed),
        scoring={'r2': 'r2', 'converged': _converged},
        refit='r2',
        n_jobs=settings.n_jobs,
        error_score='raise',
    )


def _unconverged(search: GridSearchCV) -> int:
    """Fits of a grid search (inner fits and the refit) that hit their iteration limit."""
    results = search.cv_results_
    inner = sum(np.sum(1 - results[key]) for key in results if key.startswith('split') and key.endswith('_converged'))
    return round(inner) + int(_converged(search.best_estimator_, None, None) == 0)


def model_matrices(
    data: TaskData,
    spec: ModelSpec,
    train: np.ndarray,
    test: np.ndarray,
    settings: TrainingSettings,
    *,
    stacked: bool,
    first_stage_params: dict | None = None,
):
    """Training and test matrices of a model in one split, their column names and the stacked model's params."""
    names = spec.features or data.feature_names
    X = data.X[:, data.column_indices(names)]
    if not stacked:
        return X[train], X[test], list(names), None
    X_static = data.X[:, data.column_indices(data.static_features)]
    train_feature, test_feature, params = stack_feature(
        spec.estimator,
        spec.grid,
        X_static,
        data.y,
        data.groups,
        train,
        test,
        inner_folds=settings.inner_folds,
        seed=settings.seed,
        n_jobs=settings.n_jobs,
        params=first_stage_params,
    )
    return (
        np.column_stack([X[train], train_feature]),
        np.column_stack([X[test], test_feature]),
        [*names, STACK_FEATURE],
        params,
    )


def nested_cv(data: TaskData, spec: ModelSpec, settings: TrainingSettings, *, stacked: bool) -> list[FoldOutcome]:
    """Outer folds of whole materials; inside each, a grid search with inner folds of the training materials."""
    outcomes = []
    outer = MaterialFolds(settings.outer_folds, settings.seed)
    for fold, (train, test) in enumerate(outer.split(data.X, groups=data.groups)):
        assert_disjoint(data.groups, train, test)
        X_train, X_test, names, first_stage = model_matrices(data, spec, train, test, settings, stacked=stacked)
        search = grid_search(spec, settings).fit(X_train, data.y[train], groups=data.groups[train])
        predicted, spread = predict_matrix(search.best_estimator_, X_test)
        task_variance = float(np.var(data.y))
        test_r2, test_reason = r2_or_reason(data.y[test], predicted, data.groups[test], task_variance)
        val_r2, val_reason = _validation_r2(search, X_train, data.y[train], data.groups[train], settings, task_variance)
        outcomes.append(
            FoldOutcome(
                fold=fold,
                train=train,
                test=test,
                best_params=_plain(search.best_params_),
                val_r2=val_r2,
                test_r2=test_r2,
                predicted=predicted,
                predicted_std=spread,
                model=search.best_estimator_,
                X_test=X_test,
                feature_names=names,
                first_stage_params=_plain(first_stage) if first_stage is not None else None,
                unconverged_fits=_unconverged(search),
                val_r2_undefined=val_reason,
                test_r2_undefined=test_reason,
            )
        )
    return outcomes


def _validation_r2(search: GridSearchCV, X, y, groups, settings: TrainingSettings, task_variance: float):
    """The best parameters' mean inner R2 over the inner folds where R2 is defined, and a note on the others.

    The inner folds are made again (``MaterialFolds`` is deterministic: the grid search's own splits).
    """
    scores, reasons = [], []
    folds = MaterialFolds(settings.inner_folds, settings.seed).split(X, groups=groups)
    for index, (_, test) in enumerate(folds):
        _, reason = r2_or_reason(y[test], y[test], groups[test], task_variance)
        if reason is None:
            scores.append(float(search.cv_results_[f'split{index}_test_r2'][search.best_index_]))
        else:
            reasons.append(f'inner fold {index + 1}: {reason}')
    if not scores:
        return float('nan'), '; '.join(reasons)
    return float(np.mean(scores)), ('; '.join(reasons) + ' (left out of the validation R2)') if reasons else None


def summarise(name: str, outcomes: list[FoldOutcome], data: TaskData, *, is_baseline: bool) -> dict:
    """The metrics row of one model (thesis table columns plus the parity distances)."""
    val = np.array([outcome.val_r2 for outcome in outcomes])
    test = np.array([outcome.test_r2 for outcome in outcomes])
    true = np.concatenate([data.y[outcome.test] for outcome in outcomes])
    predicted = np.concatenate([outcome.predicted for outcome in outcomes])
    groups = np.concatenate([data.groups[outcome.test] for outcome in outcomes])
    span = float(true.max() - true.min())
    span = span if span > 0 else np.nan
    distance = np.abs(predicted - true) / np.sqrt(2) / span
    scored, both = np.isfinite(test), np.isfinite(test) & np.isfinite(val)
    # R2 of all outer predictions together: steadier than the fold mean when folds hold few materials.
    pooled, pooled_reason = r2_or_reason(true, predicted, groups, float(np.var(data.y)))
    notes = [f'fold {outcome.fold + 1} test R2 undefined: {outcome.test_r2_undefined}'
             for outcome in outcomes if outcome.test_r2_undefined]
    notes += [f'fold {outcome.fold + 1} validation R2: {outcome.val_r2_undefined}'
              for outcome in outcomes if outcome.val_r2_undefined]
    if not scored.any():
        notes.append('test R2 mean undefined: no outer fold has a defined R2')
    if not both.any():
        notes.append('generalisation gap undefined: no outer fold has both a defined validation and test R2')
    if pooled_reason:
        notes.append(f'pooled R2 undefined: {pooled_reason}')
    return {
        'model': name,
        'gap_mean': float(np.mean(val[both] - test[both])) if both.any() else float('nan'),
        'test_r2_mean': float(test[scored].mean()) if scored.any() else float('nan'),
        'test_r2_std': float(test[scored].std(ddof=0)) if scored.any() else float('nan'),
        'pooled_r2': pooled,
        'n_folds_scored': int(scored.sum()),
        'nrmse': float(np.sqrt(np.mean((predicted - true) ** 2)) / span),
        'distance_mean': float(distance.mean()),
        'distance_std': float(distance.std(ddof=0)),
        'n_materials': data.n_materials,
        'n_rows': data.n_rows,
        'task': data.task,
        'is_baseline': is_baseline,
        #: Why a statistic of the row is undefined or averaged over fewer folds ('' when every one is whole).
        'undefined': '; '.join(notes),
    }


def prediction_table(name: str, outcomes: list[FoldOutcome], data: TaskData) -> pd.DataFrame:
    """Pooled outer-test predictions with the ids of their rows."""
    tables = []
    for outcome in outcomes:
        table = data.ids.iloc[outcome.test].reset_index(drop=True)
        table.insert(0, 'task', data.task)
        table.insert(1, 'model', name)
        table.insert(2, 'fold', outcome.fold)
        table.insert(5, 'true', data.y[outcome.test])
        table.insert(6, 'predicted', outcome.predicted)
        table.insert(7, 'predicted_std', outcome.predicted_std)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def fold_table(name: str, outcomes: list[FoldOutcome], data: TaskData) -> pd.DataFrame:
    """Per fold: the chosen hyperparameters, validation and test R2, and which materials were where."""
    return pd.DataFrame(
        [
            {
                'task': data.task,
                'model': name,
                'fold': outcome.fold,
                'best_params': outcome.best_params,
                'first_stage_params': outcome.first_stage_params,
                'val_r2': outcome.val_r2,
                'test_r2': outcome.test_r2,
                'val_r2_undefined': outcome.val_r2_undefined or '',
                'test_r2_undefined': outcome.test_r2_undefined or '',
                'n_train_materials': int(np.unique(data.groups[outcome.train]).size),
                'n_test_materials': int(np.unique(data.groups[outcome.test]).size),
                'unconverged_fits': outcome.unconverged_fits,
                'train_materials': sorted(np.unique(data.groups[outcome.train]).tolist()),
                'test_materials': sorted(np.unique(data.groups[outcome.test]).tolist()),
            }
            for outcome in outcomes
        ]
    )


def learning_curve(
    data: TaskData, spec: ModelSpec, outcomes: list[FoldOutcome], settings: TrainingSettings, *, stacked: bool
) -> pd.DataFrame:
    """Train and test R2 on growing subsets of each fold's training materials, with the fold's own parameters.

    The test rows of a fold are never used for tuning or training, so the curve is free of leakage.
    """
    records = []
    # The stacked task needs enough materials for its inner out-of-fold predictions.
    smallest = max(2, settings.inner_folds)
    for outcome in outcomes:
        train_groups = data.groups[outcome.train]
        materials = np.random.default_rng([settings.seed, outcome.fold]).permutation(np.unique(train_groups))
        for fraction in sorted(set(settings.learning_curve_sizes)):
            size = min(len(materials), max(smallest, round(fraction * len(materials))))
            subset = outcome.train[np.isin(train_groups, materials[:size])]
            X_train, X_test, _, _ = model_matrices(
                data,
                spec,
                subset,
                outcome.test,
                settings,
                stacked=stacked,
                first_stage_params=outcome.first_stage_params,
            )
            model = clone(spec.estimator).set_params(**outcome.best_params).fit(X_train, data.y[subset])
            records.append(
                {
                    'fold': outcome.fold,
                    'fraction': fraction,
                    'n_train_materials': size,
                    'train_r2': r2_score(data.y[subset], model.predict(X_train)),
                    'test_r2': r2_or_reason(data.y[outcome.test], model.predict(X_test), data.groups[outcome.test],
                                            float(np.var(data.y)))[0],
                }
            )
    per_fold = pd.DataFrame(records)
    summary = per_fold.groupby('fraction').agg(
        n_train_materials=('n_train_materials', 'mean'),
        train_r2_mean=('train_r2', 'mean'),
        train_r2_std=('train_r2', lambda values: values.std(ddof=0)),
        test_r2_mean=('test_r2', 'mean'),
        test_r2_std=('test_r2', lambda values: values.std(ddof=0)),
    )
    summary.insert(0, 'model', spec.name)
    summary.insert(0, 'task', data.task)
    return summary.reset_index()


def permutation_importance(
    outcomes: list[FoldOutcome], data: TaskData, settings: TrainingSettings
) -> dict[str, pd.DataFrame]:
    """Drop in outer-test R2 when a feature family (all its columns, rows permuted together) or one feature is
    shuffled; mean and std over folds and repeats."""
    records = []
    for outcome in outcomes:
        if outcome.test_r2_undefined:  # no R2 to drop from
            continue
        names = outcome.feature_names
        families: dict[str, list[int]] = {}
        for index, name in enumerate(names):
            families.setdefault(family_of(name), []).append(index)
        column_sets = [('family', family, family, columns) for family, columns in families.items()]
        column_sets += [('feature', name, family_of(name), [index]) for index, name in enumerate(names)]
        y_test = data.y[outcome.test]
        baseline = r2_score(y_test, outcome.model.predict(outcome.X_test))
        # The same permutations for every model of a fold, so that models are compared on equal terms.
        rng = np.random.default_rng([settings.seed, outcome.fold])
        n_rows = len(y_test)
        for level, name, family, columns in column_sets:
            shuffled = np.tile(outcome.X_test, (settings.permutation_repeats, 1))
            for repeat in range(settings.permutation_repeats):
                order = rng.permutation(n_rows)
                block = slice(repeat * n_rows, (repeat + 1) * n_rows)
                shuffled[block, columns] = outcome.X_test[order][:, columns]
            predictions = outcome.model.predict(shuffled).reshape(settings.permutation_repeats, n_rows)
            for repeat, predicted in enumerate(predictions):
                records.append(
                    {
                        'level': level,
                        'name': name,
                        'family': family,
                        'fold': outcome.fold,
                        'repeat': repeat,
                        'drop': baseline - r2_score(y_test, predicted),
                    }
                )
    drops = pd.DataFrame(records, columns=['level', 'name', 'family', 'fold', 'repeat', 'drop'])
    tables = {}
    for level in ('family', 'feature'):
        table = (
            drops[drops['level'] == level]
            .groupby(['name', 'family'])['drop']
            .agg(importance_mean='mean', importance_std=lambda values: values.std(ddof=0))
            .reset_index()
            .sort_values('importance_mean', ascending=False, kind='stable')
            .reset_index(drop=True)
        )
        tables[level] = table.rename(columns={'name': level}) if level == 'feature' else table.drop(columns='name')
    return tables


def final_model(data: TaskData, spec: ModelSpec, settings: TrainingSettings):
    """Grid search with inner folds over all materials of the task, refitted on all of them."""
    X = data.X[:, data.column_indices(spec.features or data.feature_names)]
    search = grid_search(spec, settings).fit(X, data.y, groups=data.groups)
    cv_r2, _ = _validation_r2(search, X, data.y, data.groups, settings, float(np.var(data.y)))
    return search.best_estimator_, _plain(search.best_params_), cv_r2, _unconverged(search)


def _plain(params: dict) -> dict:
    """Hyperparameters as JSON-friendly Python scalars."""
    return {key: value.item() if isinstance(value, np.generic) else value for key, value in params.items()}
