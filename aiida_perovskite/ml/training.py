"""``train``: validation, exclusions, baselines and model families, evaluation and final models of one task."""

from __future__ import annotations

import dataclasses
import logging
import math
import platform
import time
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import scipy
import sklearn
import skops
from sklearn.exceptions import ConvergenceWarning

from . import evaluation
from .models import ModelSpec, baseline_mean_spec, baseline_volume_spec, family_spec
from .settings import MODEL_FAMILIES, TrainingSettings
from .tasks import STACK_FEATURE, TEMPERATURE_FEATURE, UNITS_OF_TARGET, VOLUME_FEATURE, TaskData, build_task

#: Progress of :func:`train` (one line per model as it starts and ends); callers choose whether to show it.
LOGGER = logging.getLogger(__name__)


@dataclasses.dataclass
class TrainingResult:
    """Everything one call of :func:`train` found, ready to be stored or reported."""

    task: str
    target: str
    units: str
    #: One row per model (baselines included): generalisation gap, outer test R2, NRMSE, parity distances.
    metrics: pd.DataFrame
    #: Pooled outer-test predictions with model, fold and the ids of each row.
    predictions: pd.DataFrame
    #: Per model and outer fold: best parameters, validation and test R2, training and test materials.
    folds: pd.DataFrame
    #: Per model and training-set fraction: mean and std over folds of train and test R2.
    learning_curves: pd.DataFrame
    #: Per model: ``{'family': table, 'feature': table}`` of permutation importances (drop in R2).
    importance: dict[str, dict[str, pd.DataFrame]]
    #: Per model family: the estimator tuned and refitted on all materials (empty for ``v_atom_stacked``).
    final_models: dict[str, Any]
    #: Per model family: the final model's parameters and inner cross-validated R2.
    final_params: dict[str, dict]
    #: Column order of the estimators' inputs (final models; the second stage for ``v_atom_stacked``).
    feature_names: list[str]
    #: Reason -> materials left out (see ``tasks.EXCLUSION_REASONS``).
    excluded: dict[str, list[str]]
    settings: TrainingSettings
    library_versions: dict[str, str]
    #: Wall-clock seconds per model (evaluation, learning curve, importance and final model).
    timings: dict[str, float]
    #: Per model: fits that reached their iteration limit (LASSO at tiny alphas).
    unconverged_fits: dict[str, int]
    notes: list[str]

    @property
    def cv_rmse(self) -> dict[str, float]:
        """Per model: RMSE of the pooled outer-test predictions (the uncertainty of models without a spread)."""
        errors = self.predictions['predicted'] - self.predictions['true']
        return {model: float(np.sqrt(np.mean(err**2))) for model, err in errors.groupby(self.predictions['model'])}


def library_versions() -> dict[str, str]:
    """Versions of the libraries that decide the numbers."""
    return {
        'python': platform.python_version(),
        'sklearn': sklearn.__version__,
        'numpy': np.__version__,
        'scipy': scipy.__version__,
        'pandas': pd.__version__,
        'skops': skops.__version__,
    }


def train(
    frame: pd.DataFrame,
    task: str,
    settings: TrainingSettings | None = None,
    families: Iterable[str] | None = None,
) -> TrainingResult:
    """Evaluate the baselines and model ``families`` on ``task`` by nested cross-validation over materials,
    then fit the final models on all materials.

    Splits always come from the structure identity (the ``structure`` column, else ``material``); there is
    deliberately no way to pass a splitter or rows. A table mixing protocols, charge models or parameter sets
    is refused unless ``settings.allow_mixed`` names them.
    """
    settings = settings or TrainingSettings()
    families = [families] if isinstance(families, str) else list(MODEL_FAMILIES if families is None else families)
    unknown = [family for family in families if family not in MODEL_FAMILIES]
    if unknown or not families:
        raise ValueError(f'unknown or no model families {unknown or families}; known: {MODEL_FAMILIES}')
    data = build_task(frame, task, settings.allow_mixed)
    _require_enough_materials(data, settings)

    stacked = task == 'v_atom_stacked'
    notes = []
    ceiling = noise_ceiling(data)
    if ceiling is not None:
        notes.append(f'{data.target}: the targets\' own standard errors allow an R2 of about {ceiling:.2f} at best '
                     '(1 - mean squared standard error / variance of the target); no model can beat its noise. '
                     'Those errors come from within each run and miss what varies between runs of the same material '
                     '(cells still relaxing or tearing): on 20 dj-dft cells under the screening protocol, two velocity '
                     'seeds differed 4x more than these errors allow (benchmarks/screening_protocol.py), so read this '
                     'as an upper bound.')
    specs = _baseline_specs(data, notes) + [family_spec(family, settings) for family in families]
    if stacked:
        notes.append(
            'v_atom_stacked: each family stacks on a per-material model of the same family (tuned on the outer '
            'training materials); the baselines are not stacked; importance is of the second stage inputs.'
        )

    rows, predictions, folds, curves = [], [], [], []
    importance, final_models, final_params, timings, unconverged = {}, {}, {}, {}, {}
    started = time.perf_counter()
    with warnings.catch_warnings():
        # Counted per fit instead (unconverged_fits); scikit-learn forwards this filter to its workers.
        warnings.simplefilter('ignore', ConvergenceWarning)
        for number, spec in enumerate(specs, start=1):
            model_started = time.perf_counter()
            LOGGER.info('%s: %s (%d/%d) on %d materials...', task, spec.name, number, len(specs), data.n_materials)
            model_stacked = stacked and not spec.is_baseline
            outcomes = evaluation.nested_cv(data, spec, settings, stacked=model_stacked)
            rows.append(evaluation.summarise(spec.name, outcomes, data, is_baseline=spec.is_baseline))
            predictions.append(evaluation.prediction_table(spec.name, outcomes, data))
            folds.append(evaluation.fold_table(spec.name, outcomes, data))
            unconverged[spec.name] = sum(outcome.unconverged_fits for outcome in outcomes)
            if not spec.is_baseline:
                curves.append(evaluation.learning_curve(data, spec, outcomes, settings, stacked=model_stacked))
                importance[spec.name] = evaluation.permutation_importance(outcomes, data, settings)
                if not stacked:
                    model, params, cv_r2, final_unconverged = evaluation.final_model(data, spec, settings)
                    final_models[spec.name] = model
                    final_params[spec.name] = {'params': params, 'cv_r2': cv_r2}
                    unconverged[spec.name] += final_unconverged
            timings[spec.name] = time.perf_counter() - model_started
            LOGGER.info('%s: %s done in %.0f s, outer test R2 %.3f', task, spec.name, timings[spec.name],
                        rows[-1]['test_r2_mean'])
    timings['total'] = time.perf_counter() - started

    return TrainingResult(
        task=task,
        target=data.target,
        units=UNITS_OF_TARGET[data.target],
        metrics=pd.DataFrame(rows),
        predictions=pd.concat(predictions, ignore_index=True),
        folds=pd.concat(folds, ignore_index=True),
        learning_curves=pd.concat(curves, ignore_index=True),
        importance=importance,
        final_models=final_models,
        final_params=final_params,
        feature_names=[*data.feature_names, STACK_FEATURE] if stacked else list(data.feature_names),
        excluded=data.excluded,
        settings=settings,
        library_versions=library_versions(),
        timings=timings,
        unconverged_fits=unconverged,
        notes=notes,
    )


def noise_ceiling(data: TaskData) -> float | None:
    """The R2 a perfect model would reach against noisy targets: 1 - mean(stderr^2) / var(y).

    Needs each row's standard error (``cp_u_stderr``, carried as ``true_stderr``); None without it.
    """
    if 'true_stderr' not in data.ids:
        return None
    errors = data.ids['true_stderr'].to_numpy(dtype=float)
    if not np.isfinite(errors).any() or np.var(data.y) == 0:
        return None
    return float(1.0 - np.nanmean(errors**2) / np.var(data.y))


def _baseline_specs(data: TaskData, notes: list[str]) -> list[ModelSpec]:
    specs = [baseline_mean_spec()]
    if data.target == 'v_atom':
        if VOLUME_FEATURE in data.feature_names:
            specs.append(baseline_volume_spec([VOLUME_FEATURE, TEMPERATURE_FEATURE]))
        else:
            notes.append(f'baseline_cif_volume skipped: the table has no {VOLUME_FEATURE} column')
    return specs


def _require_enough_materials(data: TaskData, settings: TrainingSettings) -> None:
    """Every outer training set must still hold enough materials for the inner folds."""
    smallest_training = data.n_materials - math.ceil(data.n_materials / settings.outer_folds)
    if data.n_materials < settings.outer_folds or smallest_training < settings.inner_folds:
        raise ValueError(
            f'{data.n_materials} materials are too few for {settings.outer_folds} outer folds with '
            f'{settings.inner_folds} inner folds each (excluded: {data.excluded})'
        )
