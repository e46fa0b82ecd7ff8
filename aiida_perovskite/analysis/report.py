"""The report of a group of materials: tables, CSV files, plots and an HTML page from plain records.

Plain Python (pandas, matplotlib with the Agg backend): the records come from
:func:`aiida_perovskite.tools.report.group_report`, which reads them from the provenance graph.
"""

from __future__ import annotations

import html
import pathlib

#: More temperatures than this and the table shows V_atom at the lowest and highest only (the CSV has all).
MAX_TEMPERATURE_COLUMNS = 6


def _number(value, digits: int = 4) -> str:
    return '-' if value is None else f'{value:.{digits}g}'


def r2_text(value) -> str:
    """An R2 as in the training tables: three decimals, 'undefined' (None/NaN: see the training report for why)
    or '< -10' when the digits would mean nothing (:func:`aiida_perovskite.ml.evaluation.display_r2`)."""
    from aiida_perovskite.ml.evaluation import display_r2

    return display_r2(value)


def cp_u_text(record: dict) -> str:
    """``Cp(U) ± stderr`` as printed (kcal/mol/K per atom), ``-`` when there is no slope."""
    if record.get('cp_u') is None:
        return '-'
    stderr = record.get('cp_u_stderr')
    return f'{record["cp_u"]:.3e}' + ('' if stderr is None else f' ± {stderr:.1e}')


def table_temperatures(materials: list) -> list:
    """The temperatures that get a V_atom column: all of them, or the lowest and highest when there are many."""
    temperatures = sorted({float(t) for record in materials for t in record.get('temperatures', [])})
    if len(temperatures) > MAX_TEMPERATURE_COLUMNS:
        return [temperatures[0], temperatures[-1]]
    return temperatures


def material_table(materials: list) -> tuple[list, list]:
    """``(headers, rows)`` of the per-material table: CIF, state, Cp(U) ± stderr, V_atom at each T, flags."""
    temperatures = table_temperatures(materials)
    headers = ['pk', 'cif', 'protocol', 'state', 'T done', 'Cp(U) ± stderr [kcal/mol/K/atom]',
               *[f'V_atom {t:g} K' for t in temperatures], 'flags']
    rows = []
    for record in materials:
        v_atom = dict(zip((float(t) for t in record.get('temperatures', [])), record.get('v_atom', [])))
        progress = f'{record["temperatures_done"]}/{record["temperatures_total"]}' if record['temperatures_total'] else '-'
        state = record['state'] + (f': {record["message"][:50]}' if record.get('message') and record['state'] != 'finished'
                                   else '')
        rows.append([record['pk'], record['cif'], record.get('protocol') or '', state, progress, cp_u_text(record),
                     *[f'{v_atom[t]:.3f}' if t in v_atom else '' for t in temperatures],
                     ', '.join(record.get('flags', [])) or ('none' if record['state'] == 'finished' else '')])
    return headers, rows


def model_table(models: list) -> tuple[list, list]:
    """``(headers, rows)`` of the models: label, task, family, outer test R2 (mean ± std) and size."""
    headers = ['pk', 'label', 'task', 'family', 'test R2', 'RMSE', 'materials', 'dataset']
    rows = []
    for model in models:
        r2 = r2_text(model.get('test_r2_mean'))
        if r2[0].isdigit() or r2[0] == '-':  # a number: its spread over the folds beside it
            r2 += '' if model.get('test_r2_std') is None else f' ± {r2_text(model["test_r2_std"])}'
        rows.append([model['pk'], model.get('label') or '', model['task'], model['family'], r2,
                     f'{_number(model.get("rmse"), 3)} {model.get("units") or ""}'.strip(), model.get('n_materials') or '',
                     model['dataset_pk']])
    return headers, rows


def prediction_table(predictions: list) -> tuple[list, list]:
    """``(headers, rows)`` of the screening predictions, grouped by model, largest first."""
    headers = ['pk', 'cif', 'model', 'task', 'T [K]', 'prediction', '±', 'units']
    ordered = sorted(predictions, key=lambda p: (p['model_pk'], -(p.get('prediction') or 0.0)))
    rows = [[p['pk'], p.get('cif') or '', p['model_pk'], p.get('task') or '', _number(p.get('temperature')),
             _number(p.get('prediction'), 5), _number(p.get('uncertainty'), 2), p.get('units') or ''] for p in ordered]
    return headers, rows


def materials_frame(materials: list):
    """One row per material and temperature (a material without targets keeps one row without them)."""
    import pandas as pd

    rows = []
    for record in materials:
        common = {key: record.get(key) for key in ('pk', 'uuid', 'cif', 'cif_uuid', 'protocol', 'state',
                                                   'temperatures_done', 'temperatures_total', 'cp_u', 'cp_u_stderr')}
        common['flags'] = ';'.join(record.get('flags', []))
        temperatures = record.get('temperatures', [])
        if not temperatures:
            rows.append(common)
        for index, temperature in enumerate(temperatures):
            rows.append({**common, 'temperature': temperature, 'v_atom': record['v_atom'][index],
                         'v_atom_std': record['v_atom_std'][index] if record.get('v_atom_std') else None,
                         'pe_per_atom': record['pe_per_atom'][index]})
    return pd.DataFrame(rows)


def plot_series(materials: list, key: str, ylabel: str, path: pathlib.Path) -> bool:
    """One line per finished material of ``key`` (``pe_per_atom`` or ``v_atom``) against temperature."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    finished = [record for record in materials if record.get(key)]
    if not finished:
        return False
    figure, axes = plt.subplots(figsize=(6.4, 4.4))
    for record in finished:
        axes.plot(record['temperatures'], record[key], marker='o', label=pathlib.PurePath(record['cif']).name)
    axes.set_xlabel('temperature [K]')
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    if len(finished) <= 12:
        axes.legend(fontsize='small')
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def write_group_report(report: dict, folder, model_reports: dict | None = None, all_models: bool = False) -> dict:
    """Write ``index.html``, ``materials.csv``, ``models.csv``, ``predictions.csv`` and the plots into ``folder``.

    :param report: as returned by :func:`aiida_perovskite.tools.report.group_report`.
    :param model_reports: training pk -> folder (relative to ``folder``) holding that training's own report.
    :param all_models: list every model on the page, not only the newest of each task, family and
        dataset (``models.csv`` always has them all, with a ``newest`` column).
    :returns: the written files by kind.
    """
    import pandas as pd

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    materials, models, predictions = report['materials'], report['models'], report['predictions']
    written = {'materials': folder / 'materials.csv', 'models': folder / 'models.csv',
               'predictions': folder / 'predictions.csv'}
    materials_frame(materials).to_csv(written['materials'], index=False)
    pd.DataFrame(models).to_csv(written['models'], index=False)
    pd.DataFrame(predictions).to_csv(written['predictions'], index=False)
    plots = {}
    if plot_series(materials, 'pe_per_atom', 'mean potential energy per atom [kcal/mol]', folder / 'pe_per_atom.png'):
        plots['pe_per_atom'] = folder / 'pe_per_atom.png'
    if plot_series(materials, 'v_atom', 'V_atom [Å³ per atom]', folder / 'v_atom.png'):
        plots['v_atom'] = folder / 'v_atom.png'
    written.update(plots)

    sections = [f'<h1>Group {html.escape(report["group"])}</h1>',
                f'<p>{len(materials)} material(s), {sum(r["state"] == "finished" for r in materials)} finished; '
                f'{len(report.get("datasets", []))} dataset(s), {len(models)} model(s), '
                f'{len(predictions)} screening prediction(s). Read from the provenance graph by '
                f'<code>aiida-perovskite report</code>.</p>',
                '<h2>Materials</h2>', _html_table(*material_table(materials)),
                '<p>Cp(U): slope of the mean potential energy per atom against temperature, with its standard '
                'error; V_atom in Å³ per atom (all temperatures in <a href="materials.csv">materials.csv</a>).</p>']
    for name in plots:
        sections.append(f'<img src="{plots[name].name}" alt="{name}">')
    sections.append('<h2>Models</h2>')
    shown = [model for model in models if all_models or model.get('newest', True)]
    sections.append(_html_table(*model_table(shown)) if models else '<p>No model trained on this group yet.</p>')
    if len(shown) < len(models):
        sections.append(f'<p>{len(models) - len(shown)} model(s) of earlier trainings are listed in '
                        '<a href="models.csv">models.csv</a>.</p>')
    for training_pk, relative in sorted((model_reports or {}).items()):
        sections.append(f'<p>Training {training_pk}: <a href="{html.escape(relative)}/index.html">its report</a> '
                        '(parity plots, learning curves, importances).</p>')
    if predictions:
        sections.append('<h2>Screening predictions</h2>')
        sections.append(_html_table(*prediction_table(predictions)))
    page = ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>' + html.escape(report['group']) +
            '</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}'
            'td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}img{max-width:48%}</style></head><body>' +
            '\n'.join(sections) + '</body></html>\n')
    written['index'] = folder / 'index.html'
    written['index'].write_text(page, encoding='utf-8')
    return written


def _html_table(headers, rows) -> str:
    head = ''.join(f'<th>{html.escape(str(cell))}</th>' for cell in headers)
    body = ''.join('<tr>' + ''.join(f'<td>{html.escape(str(cell))}</td>' for cell in row) + '</tr>' for row in rows)
    return f'<table><tr>{head}</tr>{body}</table>'
