"""``aiida-perovskite dataset``, ``train`` and ``screen``: from simulated materials to models that rank new CIFs."""

from __future__ import annotations

import json
import pathlib
import shutil

import click

from . import cmd_root
from .inspect import _expand

PROFILE = click.option('--profile', 'profile_name', help='AiiDA profile (default: the default profile).')
GROUP = click.option('--group', 'group_label', required=True, help='Group of materials (from `aiida-perovskite run`).')


def _load(profile_name):
    from aiida import load_profile

    load_profile(profile_name, allow_switch=True)


def _dataset(group_label):
    from aiida_perovskite.tools.dataset import build_dataset

    import sys

    interactive = sys.stderr.isatty()

    def progress(done, total):
        # One updating line at a terminal; in a log, only the final count.
        if interactive or done == total:
            click.echo(f'\r  targets and features: {done}/{total} materials', nl=done == total, err=True)

    try:
        return build_dataset(group_label, progress=progress)
    except LookupError as error:
        raise click.ClickException(str(error)) from None


@cmd_root.command('dataset')
@GROUP
@click.option('--csv', 'csv_file', type=click.Path(dir_okay=False, path_type=pathlib.Path), help='Also write the table here.')
@PROFILE
def cmd_dataset(group_label, csv_file, profile_name):
    """The learning table of the group's finished materials, as a provenance node (reused when unchanged).

    One row per material and temperature: features (family:name), targets
    (cp_u, v_atom), quality flags and the UUIDs that lead back to each CIF.
    """
    _load(profile_name)
    dataset = _dataset(group_label)
    attributes = dataset.base.attributes
    click.echo(f'DatasetData<{dataset.pk}> {dataset.uuid}: {attributes.get("n_materials")} materials, '
               f'{attributes.get("n_rows")} rows, {sum(":" in c for c in attributes.get("columns"))} features '
               f'in families {", ".join(attributes.get("feature_families"))}')
    flags = attributes.get('flags', {})
    click.echo('  flagged materials: ' + ', '.join(f'{name.removeprefix("flag_")} {count}' for name, count in flags.items()))
    if csv_file:
        csv_file.parent.mkdir(parents=True, exist_ok=True)
        dataset.frame().to_csv(csv_file, index=False)
        click.echo(f'  written to {csv_file}')


@cmd_root.command('train')
@GROUP
@click.option('--target', type=click.Choice(['cp_u', 'v_atom']), required=True,
              help='cp_u: slope of potential energy per atom vs T; v_atom: volume per atom (per temperature and stacked).')
@click.option('--report', 'report_dir', type=click.Path(file_okay=False, path_type=pathlib.Path),
              help='Copy the report (index.html, PNG plots, CSV tables) here.')
@click.option('--families', help='Comma-separated subset of ols,lasso,ridge,random_forest (default: all).')
@click.option('--seed', type=int, default=0, show_default=True, help='Seed of the folds and the forests.')
@click.option('--outer-folds', type=click.IntRange(min=2), default=5, show_default=True,
              help='Outer folds of materials (each test fold needs two or more materials for an R2).')
@click.option('--inner-folds', type=click.IntRange(min=2), default=4, show_default=True,
              help='Inner folds of materials for the grid search.')
@click.option('--jobs', type=click.IntRange(min=1), default=1, show_default=True, help='Parallel fits.')
@PROFILE
def cmd_train(group_label, target, report_dir, families, seed, outer_folds, inner_folds, jobs, profile_name):
    """Train every model family with nested cross-validation grouped by material; store the models as nodes."""
    import time

    _load(profile_name)
    from aiida import orm

    from aiida_perovskite.calculations.functions.learning import train_models
    from aiida_perovskite.ml import TrainingSettings, format_metrics

    dataset = _dataset(group_label)
    try:
        training = TrainingSettings(seed=seed, n_jobs=jobs, outer_folds=outer_folds, inner_folds=inner_folds)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    settings = {'target': target, 'training': training.as_dict()}
    if families:
        settings['families'] = [family.strip() for family in families.split(',')]
    click.echo(f'training on DatasetData<{dataset.pk}> ({dataset.base.attributes.get("n_materials")} materials)...')
    _show_progress()
    start = time.perf_counter()
    results, node = train_models.run_get_node(dataset, orm.Dict(settings))
    if not node.is_finished_ok:
        raise click.ClickException(f'training failed: {node.exit_message}')
    click.echo(f'trained in {time.perf_counter() - start:.0f} s (train_models<{node.pk}>)')
    import pandas as pd

    for task, rows in results['metrics'].get_dict().items():
        click.echo(f'\n{task}:')
        click.echo(format_metrics(pd.DataFrame(rows)))
    click.echo('\nmodels (screen --model takes the PK, the UUID or the label):')
    for label, model in sorted(results.items()):
        if label.startswith('model_'):
            model.label = f'{group_label}/{model.task}/{model.family}'  # the newest of a label is the one used
            click.echo(f'  {model.family:14s} TrainedModelData<{model.pk}> {model.uuid}  {model.label}')
    if report_dir:
        report_dir.mkdir(parents=True, exist_ok=True)
        results['report'].base.repository.copy_tree(report_dir.resolve())  # AiiDA wants an absolute path
        click.echo(f'report: {report_dir / "index.html"}')


def _show_progress():
    """Print the training's per-model progress lines (aiida_perovskite.ml.training's logger) on stderr."""
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter('  %(asctime)s %(message)s', datefmt='%H:%M:%S'))
    logger = logging.getLogger('aiida_perovskite.ml.training')
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # AiiDA's own handlers would print it a second time


@cmd_root.command('screen')
@click.argument('paths', nargs=-1, required=True, type=click.Path(path_type=pathlib.Path))
@click.option('--model', 'model_id', required=True,
              help='PK, UUID or label (GROUP/TARGET/FAMILY, the newest of that label) of a TrainedModelData.')
@click.option('--temperature', type=float, default=300.0, show_default=True, help='For models of v_atom (K).')
@click.option('--ascending', is_flag=True, help='Rank the smallest prediction first (default: the largest).')
@click.option('--store/--no-store', default=True, show_default=True,
              help='Record each CIF, decomposition, features and prediction as provenance nodes.')
@click.option('--group', 'group_label', help='Also put the prediction nodes in this group.')
@click.option('--json', 'as_json', is_flag=True, help='One JSON record per CIF instead of a table.')
@PROFILE
def cmd_screen(paths, model_id, temperature, ascending, store, group_label, as_json, profile_name):
    """Rank CIFs in PATHS by a trained model's prediction, without simulating them.

    A CIF that cannot be decomposed is reported with its reason and the
    others are still ranked; the exit status is 1 if any CIF failed.
    """
    _load(profile_name)
    from aiida import orm

    from aiida_perovskite.data import TrainedModelData

    model = _load_model(model_id)
    if not isinstance(model, TrainedModelData):
        raise click.ClickException(f'node {model_id} is a {type(model).__name__}, not a TrainedModelData')
    group = orm.Group.collection.get_or_create(group_label)[0] if group_label and store else None
    rows, failures = [], []
    for path in _expand(paths):
        try:
            record = (_screen_stored if store else _screen_plain)(path, model, temperature)
        except _ScreenError as error:
            failures.append({'file': str(path), 'error': str(error)})
            continue
        if group is not None:
            group.add_nodes(orm.load_node(record['prediction_pk']))
        rows.append(record)
    rows.sort(key=lambda row: row['prediction'], reverse=not ascending)
    for rank, row in enumerate(rows, start=1):
        row['rank'] = rank
    if as_json:
        for record in rows + failures:
            click.echo(json.dumps(record))
    else:
        _print_ranking(rows, failures, model, temperature)
    raise SystemExit(1 if failures else 0)


def _load_model(model_id: str):
    """A node by PK or UUID, else the newest TrainedModelData labelled ``model_id``."""
    from aiida import orm

    from aiida_perovskite.data import TrainedModelData

    try:
        return orm.load_node(model_id)
    except Exception as error:
        newest = orm.QueryBuilder().append(TrainedModelData, filters={'label': model_id}).order_by(
            {TrainedModelData: {'ctime': 'desc'}}).first(flat=True)
        if newest is None:
            raise click.ClickException(f'cannot load model {model_id}: {error}') from None
        return newest


class _ScreenError(Exception):
    """A CIF that could not be screened; the message says why."""


def _screen_plain(path, model, temperature) -> dict:
    """Decompose and predict in memory (nothing stored)."""
    import pandas as pd

    from aiida_perovskite.analysis import structure_features
    from aiida_perovskite.structure import StructureError, inspect_cif

    try:
        record = inspect_cif(path).as_dict()
    except StructureError as error:
        raise _ScreenError(f'{type(error).__name__}: {error}') from None
    features = structure_features(record)
    features['thermo:temperature'] = temperature
    mean, spread = model.predict(pd.DataFrame([features]))
    return {'file': str(path), 'smiles': '.'.join(s['smiles'] for s in record['spacers']),
            'prediction': float(mean[0]), 'uncertainty': float(spread[0])}


def _screen_stored(path, model, temperature) -> dict:
    """CifData -> decompose_cif -> compute_features -> predict_properties, each a provenance node."""
    from aiida import orm

    from aiida_perovskite.calculations.functions.decompose import decompose_cif
    from aiida_perovskite.calculations.functions.learning import predict_properties
    from aiida_perovskite.calculations.functions.targets import compute_features

    from aiida_perovskite.structure import StructureError, read_cif

    try:
        # Our own reader first: it names the problem plainly, where CifData's parser would print
        # pages of PyCifRW tracebacks for a truncated file before failing.
        read_cif(path)
    except StructureError as error:
        raise _ScreenError(f'{type(error).__name__}: {error}') from None
    cif = orm.CifData(file=str(pathlib.Path(path).resolve()), filename=pathlib.Path(path).name)
    results, node = decompose_cif.run_get_node(cif)
    if not node.is_finished_ok:
        raise _ScreenError(node.exit_message)
    features = compute_features(results['decomposition'])
    prediction = predict_properties(model, features, orm.Dict({'temperature': temperature}))
    spacers = results['decomposition'].get('spacers', [])
    return {'file': str(path), 'smiles': '.'.join(s['smiles'] for s in spacers),
            'prediction': prediction['prediction'], 'uncertainty': prediction['uncertainty'],
            'prediction_pk': prediction.pk, 'cif_uuid': cif.uuid}


def _print_ranking(rows, failures, model, temperature):
    from tabulate import tabulate

    units = model.base.attributes.get('units', '')
    at = f' at {temperature:g} K' if 'thermo:temperature' in model.feature_names else ''
    click.echo(f'{model.task}{at} by {model.family} (TrainedModelData<{model.pk}>), in {units}')
    table = [[row['rank'], row['file'], row['smiles'], f'{row["prediction"]:.5g}', f'{row["uncertainty"]:.2g}']
             for row in rows]
    click.echo(tabulate(table, headers=['rank', 'cif', 'spacer', 'prediction', '±'], disable_numparse=True))
    for failure in failures:
        click.echo(f'FAILED {failure["file"]}: {failure["error"]}', err=True)
    click.echo(f'{len(rows)} ranked, {len(failures)} failed')
