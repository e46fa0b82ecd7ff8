"""Figures of a training result, drawn without pyplot so that they work headless and leave the caller's backend
alone."""

from __future__ import annotations

import pathlib

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from .evaluation import display_r2

#: Symbols and units of the targets for axis labels.
TARGET_LABELS = {'cp_u': r'$C_p^{(\hat{U})}$', 'v_atom': r'$\hat{V}_\mathrm{atom}$'}
MARKERS = ('o', 's', '^', 'D', 'v', 'P', 'X', '*', 'h', '<')
#: Learning curves of models far worse than the mean would squash the useful range.
LOWEST_R2_SHOWN = -1.0


def _axis_label(result, kind: str) -> str:
    return f'{kind} {TARGET_LABELS.get(result.target, result.target)} ({result.units})'


def _save(figure: Figure, path: pathlib.Path) -> pathlib.Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    return path


def _r2_with_spread(metrics) -> str:
    """'mean ± std' of the folds' test R2, with 'undefined' (reasons in the report's table) or '< -10' instead
    of digits that mean nothing."""
    text = display_r2(metrics.test_r2_mean)
    if text[0].isdigit() or text[0] == '-':
        text += f' ± {display_r2(metrics.test_r2_std)}'
    folds = metrics.get('n_folds_scored')
    if folds is not None and folds == folds and text != 'undefined':
        text += f' ({int(folds)} folds scored)'
    return text


def parity(result, model: str, path: pathlib.Path) -> pathlib.Path:
    """Predicted against simulated values of the outer test folds, one colour and marker per fold."""
    table = result.predictions[result.predictions['model'] == model]
    metrics = result.metrics.set_index('model').loc[model]
    figure = Figure(figsize=(5.2, 5))
    axes = figure.add_subplot()
    colours = colormaps['tab10']
    for fold, rows in table.groupby('fold'):
        axes.scatter(
            rows['true'],
            rows['predicted'],
            s=22,
            alpha=0.75,
            color=colours(int(fold) % 10),
            marker=MARKERS[int(fold) % len(MARKERS)],
            label=f'fold {fold + 1}',
        )
    low = float(min(table['true'].min(), table['predicted'].min()))
    high = float(max(table['true'].max(), table['predicted'].max()))
    margin = 0.03 * (high - low or 1.0)
    axes.plot([low - margin, high + margin], [low - margin, high + margin], color='0.3', lw=1, ls='--', label='y = x')
    axes.set_xlim(low - margin, high + margin)
    axes.set_ylim(low - margin, high + margin)
    axes.set_aspect('equal')
    axes.set_xlabel(_axis_label(result, 'simulated'))
    axes.set_ylabel(_axis_label(result, 'predicted'))
    axes.set_title(
        f'{result.task}: {model}\nouter test R² = {_r2_with_spread(metrics)}', fontsize=10
    )
    axes.legend(fontsize=8, loc='upper left')
    return _save(figure, path)


def learning_curve(result, model: str, path: pathlib.Path) -> pathlib.Path:
    """Train and test R2 against the number of training materials, ± std over the outer folds."""
    table = result.learning_curves[result.learning_curves['model'] == model].sort_values('n_train_materials')
    metrics = result.metrics.set_index('model').loc[model]
    figure = Figure(figsize=(5.6, 4.2))
    axes = figure.add_subplot()
    lowest = 0.0
    for kind, colour in (('train', 'tab:blue'), ('test', 'tab:orange')):
        mean, std = table[f'{kind}_r2_mean'].to_numpy(), table[f'{kind}_r2_std'].to_numpy()
        x = table['n_train_materials'].to_numpy()
        axes.plot(x, mean, marker='o', color=colour, label=f'{kind} R²')
        axes.fill_between(x, mean - std, mean + std, color=colour, alpha=0.2)
        lowest = min(lowest, float(np.nanmin(mean - std)))
    if lowest < LOWEST_R2_SHOWN:
        axes.text(0.02, 0.02, f'clipped below R² = {LOWEST_R2_SHOWN}', transform=axes.transAxes, fontsize=8)
    axes.set_ylim(max(lowest, LOWEST_R2_SHOWN) - 0.05, 1.05)
    axes.axhline(0, color='0.6', lw=0.8)
    axes.set_xlabel('training materials (per outer fold)')
    axes.set_ylabel('R²')
    axes.set_title(f'{result.task}: {model} learning curve\nouter test R² = {display_r2(metrics.test_r2_mean)}',
                   fontsize=10)
    axes.legend(fontsize=8, loc='lower right')
    return _save(figure, path)


def importance(result, model: str, path: pathlib.Path, top: int = 20) -> pathlib.Path:
    """Permutation importance by feature family, and the ``top`` single features coloured by family."""
    tables = result.importance[model]
    by_family, by_feature = tables['family'], tables['feature'].head(top)
    families = sorted(set(tables['family']['family']))
    colours = {family: colormaps['tab10'](index % 10) for index, family in enumerate(families)}
    figure = Figure(figsize=(11, max(4.0, 0.28 * len(by_feature) + 1.5)))
    family_axes, feature_axes = figure.subplots(1, 2, gridspec_kw={'width_ratios': [1, 1.6]})
    ordered = by_family.iloc[::-1]
    family_axes.barh(
        ordered['family'],
        ordered['importance_mean'],
        xerr=ordered['importance_std'],
        color=[colours[family] for family in ordered['family']],
    )
    family_axes.set_xlabel('drop in outer test R² when permuted')
    family_axes.set_title(f'{result.task}: {model}\nfeature families', fontsize=10)
    ordered = by_feature.iloc[::-1]
    feature_axes.barh(
        ordered['feature'],
        ordered['importance_mean'],
        xerr=ordered['importance_std'],
        color=[colours[family] for family in ordered['family']],
    )
    feature_axes.tick_params(axis='y', labelsize=7)
    feature_axes.set_xlabel('drop in outer test R² when permuted')
    feature_axes.set_title(f'top {len(by_feature)} single features', fontsize=10)
    for axes in (family_axes, feature_axes):
        axes.axvline(0, color='0.5', lw=0.8)
    return _save(figure, path)


def target_against_temperature(result, path: pathlib.Path) -> pathlib.Path:
    """Simulated V_atom against temperature, one line per material (from the baseline's pooled test rows, which
    hold every row of the task once)."""
    rows = result.predictions[result.predictions['model'] == 'baseline_mean']
    figure = Figure(figsize=(6, 4.5))
    axes = figure.add_subplot()
    for _, material in rows.groupby('material'):
        material = material.sort_values('temperature')
        axes.plot(material['temperature'], material['true'], color='tab:blue', alpha=0.35, lw=1, marker='.', ms=3)
    axes.set_xlabel('temperature (K)')
    axes.set_ylabel(_axis_label(result, 'simulated'))
    axes.set_title(f'{result.task}: {result.target} against temperature ({rows["material"].nunique()} materials)')
    return _save(figure, path)


def all_figures(result, directory: pathlib.Path) -> dict[str, list[pathlib.Path]]:
    """Every figure of ``result`` in ``directory``, by kind."""
    figures: dict[str, list[pathlib.Path]] = {'parity': [], 'learning_curve': [], 'importance': [], 'target': []}
    for model in result.metrics['model']:
        figures['parity'].append(parity(result, model, directory / f'{result.task}_{model}_parity.png'))
    for model in pd.unique(result.learning_curves['model']):
        figures['learning_curve'].append(
            learning_curve(result, model, directory / f'{result.task}_{model}_learning_curve.png')
        )
    for model in result.importance:
        figures['importance'].append(importance(result, model, directory / f'{result.task}_{model}_importance.png'))
    if result.target == 'v_atom':
        figures['target'].append(target_against_temperature(result, directory / f'{result.task}_v_atom_vs_T.png'))
    return figures
