"""A self-contained report folder (CSV tables, PNG figures, index.html) and a terminal table of the metrics."""

from __future__ import annotations

import html
import json
import pathlib

import numpy as np
import pandas as pd
from tabulate import tabulate

from . import plots
from .evaluation import display_r2
from .tasks import EXCLUSION_REASONS

#: Metrics columns shown to people, with their headings.
METRIC_HEADINGS = {
    'model': 'model',
    'test_r2_mean': 'test R² mean',
    'test_r2_std': 'test R² std',
    'pooled_r2': 'pooled test R²',
    'gap_mean': 'mean gap (val - test)',
    'n_folds_scored': 'folds scored',
    'nrmse': 'NRMSE',
    'distance_mean': 'norm. distance to y=x',
    'distance_std': 'norm. distance std',
    'n_materials': 'materials',
    'n_rows': 'rows',
}
#: Columns that are R2 values or their differences: shown as 'undefined' or '< -10' rather than as digits that
#: mean nothing (see :func:`aiida_perovskite.ml.evaluation.display_r2`).
R2_COLUMNS = ('test_r2_mean', 'test_r2_std', 'pooled_r2', 'gap_mean', 'val_r2', 'test_r2', 'inner CV R² (all materials)')

STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 1300px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #eee; } td:first-child, th:first-child { text-align: left; }
tr.best td { background: #d9f2d9; font-weight: bold; }
tr.baseline td { color: #666; font-style: italic; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.3em; }
.figures { display: flex; flex-wrap: wrap; align-items: flex-start; }
.figures img { width: 420px; } .figures.wide img { width: 860px; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
"""


def format_metrics(metrics: pd.DataFrame) -> str:
    """The metrics table as plain text for a terminal."""
    columns = [column for column in ('task', *METRIC_HEADINGS) if column in metrics.columns]
    if 'task' in columns and metrics['task'].nunique() < 2:
        columns.remove('task')
    headings = [METRIC_HEADINGS.get(column, column) for column in columns]
    rows = [[_cell(column, row[column]) for column in columns] for _, row in metrics.iterrows()]
    table = tabulate(rows, headers=headings, tablefmt='simple', disable_numparse=True,
                     colalign=['left'] + ['right'] * (len(columns) - 1))
    return table + ''.join(f'\n  {line}' for line in undefined_notes(metrics))


def undefined_notes(metrics: pd.DataFrame) -> list[str]:
    """One line per model whose row has undefined statistics or left folds out, saying why."""
    if 'undefined' not in metrics:
        return []
    return [f'{row["model"]}: {row["undefined"]}' for _, row in metrics.iterrows()
            if isinstance(row['undefined'], str) and row['undefined']]


#: Error ratios (to the target's span) that a sane model keeps near or below 1: shown as '> 10' beyond it.
RATIO_COLUMNS = ('nrmse', 'distance_mean', 'distance_std')


def _cell(column, value) -> str:
    if column in R2_COLUMNS:
        return display_r2(value)
    if column in RATIO_COLUMNS and value is not None and np.isfinite(value) and value > 10:
        return '> 10'
    if value is None or (isinstance(value, (float, np.floating)) and np.isnan(value)):
        return 'nan'
    if isinstance(value, (float, np.floating)):
        return f'{value:.3f}'
    return str(value)


def write_report(result_or_results, directory, title: str = 'Machine-learning report') -> pathlib.Path:
    """Write CSV tables, figures and ``index.html`` for one or several results into ``directory``; return the
    path of ``index.html``."""
    results = list(result_or_results) if isinstance(result_or_results, (list, tuple)) else [result_or_results]
    if not results:
        raise ValueError('no training results to report')
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    _write_tables(results, directory)

    sections = [_section(result, plots.all_figures(result, directory), directory) for result in results]
    settings = {result.task: result.settings.as_dict() for result in results}
    if len({json.dumps(value, sort_keys=True) for value in settings.values()}) == 1:
        settings = next(iter(settings.values()))
    page = [
        '<!DOCTYPE html>',
        '<html lang="en"><head><meta charset="utf-8">',
        f'<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>',
        f'<h1>{html.escape(title)}</h1>',
        (
            '<p>Nested cross-validation with outer and inner folds of whole materials: all temperatures of a '
            'material are always on the same side of every split. Test metrics are over the outer test folds; '
            'the best mean test R² of each task is highlighted, baselines are in italics. '
            'Tables: <a href="metrics.csv">metrics.csv</a>, <a href="predictions.csv">predictions.csv</a>, '
            '<a href="folds.csv">folds.csv</a>, <a href="learning_curves.csv">learning_curves.csv</a>, '
            '<a href="importance.csv">importance.csv</a>.</p>'
        ),
        *sections,
        '<h2>Settings</h2>',
        f'<pre>{html.escape(json.dumps(settings, indent=1))}</pre>',
        '<h2>Library versions</h2>',
        _table(pd.DataFrame(sorted(results[0].library_versions.items()), columns=['library', 'version'])),
        '</body></html>',
    ]
    index = directory / 'index.html'
    index.write_text('\n'.join(page), encoding='utf-8')
    return index


def _write_tables(results, directory: pathlib.Path) -> None:
    metrics = pd.concat([_with_run_details(result) for result in results], ignore_index=True)
    metrics.to_csv(directory / 'metrics.csv', index=False)
    pd.concat([result.predictions for result in results], ignore_index=True).to_csv(
        directory / 'predictions.csv', index=False
    )
    folds = pd.concat([result.folds for result in results], ignore_index=True)
    for column in ('best_params', 'first_stage_params', 'train_materials', 'test_materials'):
        folds[column] = folds[column].map(lambda value: json.dumps(value, sort_keys=True))
    folds.to_csv(directory / 'folds.csv', index=False)
    pd.concat([result.learning_curves for result in results], ignore_index=True).to_csv(
        directory / 'learning_curves.csv', index=False
    )
    importance = [
        pd.DataFrame(
            {
                'task': result.task,
                'model': model,
                'level': level,
                'name': table[level],
                'family': table['family'],
                'importance_mean': table['importance_mean'],
                'importance_std': table['importance_std'],
            }
        )
        for result in results
        for model, tables in result.importance.items()
        for level, table in tables.items()
    ]
    importance = pd.concat(importance, ignore_index=True) if importance else pd.DataFrame()
    importance.to_csv(directory / 'importance.csv', index=False)


def _with_run_details(result) -> pd.DataFrame:
    metrics = result.metrics.copy()
    metrics['seconds'] = metrics['model'].map(result.timings)
    metrics['unconverged_fits'] = metrics['model'].map(result.unconverged_fits).fillna(0).astype(int)
    return metrics


def _section(result, figures: dict[str, list[pathlib.Path]], directory: pathlib.Path) -> str:
    metrics = _with_run_details(result)
    parts = [
        f'<h2>Task {html.escape(result.task)}: {html.escape(result.target)} ({html.escape(result.units)})</h2>',
        _metrics_table(metrics),
    ]
    parts += [f'<p><em>{html.escape(note)}</em></p>' for note in result.notes]
    parts.append('<h3>Excluded materials</h3>')
    if result.excluded:
        items = [
            f'<li><b>{html.escape(EXCLUSION_REASONS.get(reason, reason))}</b> ({len(materials)}): '
            f'{html.escape(", ".join(map(str, materials)))}</li>'
            for reason, materials in result.excluded.items()
        ]
        parts.append('<ul>' + ''.join(items) + '</ul>')
    else:
        parts.append('<p>None.</p>')
    if result.final_params:
        final = pd.DataFrame(
            [
                {
                    'model': model,
                    'parameters': json.dumps(value['params']),
                    'inner CV R² (all materials)': value['cv_r2'],
                }
                for model, value in result.final_params.items()
            ]
        )
        parts += ['<h3>Final models (tuned and refitted on all materials)</h3>', _table(final)]
    headings = {
        'target': f'{result.target} per material',
        'parity': 'Parity plots (outer test folds)',
        'learning_curve': 'Learning curves (fold-wise best parameters, test folds untouched)',
        'importance': 'Grouped permutation importance (outer test folds)',
    }
    for kind in ('target', 'parity', 'learning_curve', 'importance'):
        if figures[kind]:
            wide = ' wide' if kind == 'importance' else ''
            images = ''.join(
                f'<img src="{html.escape(path.relative_to(directory).as_posix())}" alt="{html.escape(path.stem)}">'
                for path in figures[kind]
            )
            parts.append(f'<h3>{headings[kind]}</h3><div class="figures{wide}">{images}</div>')
    return '\n'.join(parts)


def _metrics_table(metrics: pd.DataFrame) -> str:
    best = metrics.loc[metrics['test_r2_mean'].idxmax(), 'model'] if metrics['test_r2_mean'].notna().any() else None
    columns = [*METRIC_HEADINGS, 'seconds', 'unconverged_fits']
    header = ''.join(f'<th>{html.escape(METRIC_HEADINGS.get(column, column))}</th>' for column in columns)
    body = []
    for _, row in metrics.iterrows():
        classes = ' '.join(
            name for name, applies in (('best', row['model'] == best), ('baseline', row['is_baseline'])) if applies
        )
        cells = ''.join(f'<td>{html.escape(_cell(column, row[column]) if column in R2_COLUMNS + RATIO_COLUMNS else _format(row[column]))}</td>'
                        for column in columns)
        body.append(f'<tr class="{classes}">{cells}</tr>')
    notes = ''.join(f'<li>{html.escape(line)}</li>' for line in undefined_notes(metrics))
    notes = f'<p>Undefined statistics (shown as such, never as digits):</p><ul>{notes}</ul>' if notes else ''
    return f'<table><tr>{header}</tr>{"".join(body)}</table>{notes}'


def _table(frame: pd.DataFrame) -> str:
    header = ''.join(f'<th>{html.escape(str(column))}</th>' for column in frame.columns)
    rows = ''.join(
        '<tr>' + ''.join(f'<td>{html.escape(_cell(column, value) if column in R2_COLUMNS else _format(value))}</td>'
                         for column, value in zip(frame.columns, row)) + '</tr>'
        for row in frame.itertuples(index=False)
    )
    return f'<table><tr>{header}</tr>{rows}</table>'


def _format(value) -> str:
    if isinstance(value, (float, np.floating)):
        return 'nan' if np.isnan(value) else f'{value:.3g}' if abs(value) >= 1000 else f'{value:.3f}'
    return str(value)
