"""``aiida-perovskite dataset``, ``train`` and ``screen``: from simulated materials to models that rank new CIFs."""

from __future__ import annotations

import contextlib
import json
import pathlib

import click

from .common import Batch, load_model, load_profile
from .params import CIF_PATHS, GROUP, MODEL, PROFILE, group_option, reading_options

#: ``--include-broken``: keep the materials flagged with broken physics in the dataset.
INCLUDE_BROKEN = click.option('--include-broken', is_flag=True,
                              help='Keep the materials whose octahedra broke or whose volume ran away (flagged '
                                   '"broken physics" by `status`); they are left out by default.')


def _dataset(group_label, include_broken=False, batch=None):
    """The group's dataset; a material whose targets or features cannot be computed is reported in ``batch``
    (one line) and left out, and the flagged materials left out are counted on stderr."""
    import sys

    from aiida_perovskite.tools.dataset import build_dataset, finished_materials

    interactive = sys.stderr.isatty()
    batch = batch if batch is not None else Batch(expand=False)

    def progress(done, total):
        # One updating line at a terminal; in a log, only the final count.
        if interactive or done == total:
            click.echo(f'\r  targets and features: {done}/{total} materials', nl=done == total, err=True)

    def failure(material, error):
        batch.fail_with(material.base.extras.get('cif_file', f'MaterialWorkChain<{material.pk}>'), error)

    try:
        dataset = build_dataset(group_label, progress=progress, include_broken=include_broken, on_failure=failure)
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    if not include_broken:
        left_out = len(finished_materials(group_label, include_broken=True)) - len(finished_materials(group_label))
        if left_out:
            click.echo(f'  {left_out} material(s) flagged with broken physics left out (--include-broken keeps them)',
                       err=True)
    return dataset


@click.command('dataset')
@GROUP
@click.option('--csv', 'csv_file', type=click.Path(dir_okay=False, path_type=pathlib.Path), help='Also write the table here.')
@INCLUDE_BROKEN
@PROFILE
def cmd_dataset(group_label, csv_file, include_broken, profile_name):
    """The learning table of the group's finished materials, as a provenance node (reused when unchanged).

    One row per material and temperature: features (family:name), targets
    (cp_u, v_atom), quality flags and the UUIDs that lead back to each CIF.
    Materials flagged with broken physics are left out unless asked; a material
    whose targets or features cannot be computed is reported on one line and
    left out (exit status 1).
    """
    load_profile(profile_name)
    batch = Batch(expand=False)
    dataset = _dataset(group_label, include_broken, batch)
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
    batch.exit()


@click.command('train')
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
@click.option('--trees', type=click.IntRange(min=1), default=200, show_default=True,
              help='Trees of each random forest (fewer: faster and noisier forests).')
@click.option('--allow-mixed', multiple=True,
              type=click.Choice(['protocol', 'charge_method', 'charge_model', 'parameter_set', 'engine']),
              help='Learn across materials simulated with different values of this (repeatable); by default a '
                   'dataset mixing protocols, charge methods, charge models, parameter sets or MD engines is refused.')
@INCLUDE_BROKEN
@PROFILE
def cmd_train(group_label, target, report_dir, families, seed, outer_folds, inner_folds, jobs, trees, allow_mixed,
              include_broken, profile_name):
    """Train every model family with nested cross-validation grouped by structure; store the models as nodes."""
    import time

    load_profile(profile_name)
    from aiida import orm

    from aiida_perovskite.calculations.functions.learning import train_models
    from aiida_perovskite.ml import TrainingSettings, format_metrics

    dataset = _dataset(group_label, include_broken)
    try:
        training = TrainingSettings(seed=seed, n_jobs=jobs, outer_folds=outer_folds, inner_folds=inner_folds,
                                    n_estimators=trees, allow_mixed=tuple(allow_mixed))
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    from aiida_perovskite.ml.tasks import check_one_force_field

    try:
        check_one_force_field(dataset.frame(), training.allow_mixed)
    except ValueError as error:
        raise click.ClickException(f'DatasetData<{dataset.pk}>: {error}') from None
    settings = {'target': target, 'training': training.as_dict()}
    if families:
        settings['families'] = [family.strip() for family in families.split(',')]
    click.echo(f'training on DatasetData<{dataset.pk}> ({dataset.base.attributes.get("n_materials")} materials)...')
    _show_progress()
    start = time.perf_counter()
    try:
        with _quiet_process_logs():  # a refusal is the one line below, not the engine's logged traceback
            results, node = train_models.run_get_node(dataset, orm.Dict(settings))
    except ValueError as error:  # too few materials left after the exclusions, an unknown family...
        message = ' '.join(str(error).split())
        raise click.ClickException(f'cannot train on DatasetData<{dataset.pk}> '
                                   f'({dataset.base.attributes.get("n_materials")} materials): {message}') from None
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


@contextlib.contextmanager
def _quiet_process_logs():
    """Hold back the engine's own log of a process that excepts (its traceback); the command reports the error."""
    import logging

    loggers = [logging.getLogger(name) for name in ('aiida', 'plumpy')]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _show_progress():
    """Print the training's per-model progress lines (aiida_perovskite.ml.training's logger) on stderr."""
    import logging

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter('  %(asctime)s %(message)s', datefmt='%H:%M:%S'))
    logger = logging.getLogger('aiida_perovskite.ml.training')
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # AiiDA's own handlers would print it a second time


@click.command('train-network')
@CIF_PATHS
@click.option('--labels', 'labels_file', required=True, type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path),
              help='CSV with a "cif" column (file name, with or without .cif) and the target column.')
@click.option('--target', required=True, help='The column of --labels to learn (a number per CIF).')
@click.option('--units', default='', help='Units of the target (recorded on the model).')
@click.option('--family', type=click.Choice(['hirshfeld_cnn', 'cgcnn']), default='hirshfeld_cnn', show_default=True,
              help='The Hirshfeld-fingerprint CNN (seed 003) or the crystal graph network.')
@click.option('--transfer-from', 'source_id', metavar='ID',
              help='A stored hirshfeld_cnn: its feature layers are reused, frozen, and only a new head is trained.')
@click.option('--epochs', type=click.IntRange(1), default=60, show_default=True)
@click.option('--cv-folds', type=click.IntRange(0), default=3, show_default=True,
              help='K-fold test RMSE recorded as the model\'s uncertainty (0: none).')
@click.option('--seed', type=int, default=0, show_default=True)
@click.option('--label', 'model_label', help='Label of the stored model (for `screen --model LABEL`).')
@PROFILE
def cmd_train_network(paths, labels_file, target, units, family, source_id, epochs, cv_folds, seed, model_label,
                      profile_name):
    """Train a fingerprint CNN or CGCNN on labelled CIFs (e.g. DFT values) and store it as a model node.

    Each CIF is decomposed and its structure features recorded (the model's
    applicability domain); the CNN reads each structure's Hirshfeld fingerprint
    (computed once per structure and settings, reused after). A CIF that cannot
    be read, or has no label, is reported on one line and left out.
    """
    load_profile(profile_name)
    import csv
    import re

    from aiida import orm

    from aiida_perovskite.calculations.functions.networks import FEATURES, INPUT, train_network
    from aiida_perovskite.tools.screening import decompose_with_provenance, network_input

    with labels_file.open(newline='') as handle:
        rows = list(csv.DictReader(handle))
    if not rows or 'cif' not in rows[0] or target not in rows[0]:
        raise click.ClickException(f'{labels_file}: needs a "cif" column and a "{target}" column')
    table = {pathlib.Path(row['cif']).stem: row[target] for row in rows}
    source = load_model(source_id) if source_id else None
    # A transferred CNN reads fingerprints made as its source's were.
    fingerprint_settings = (source.base.attributes.get('hyperparameters') or {}).get('input_settings') if source else None
    inputs, values, elements, batch = {}, {}, {}, Batch(paths)
    for path in batch:
        with batch.step(path):
            value = table.get(path.stem, '')
            try:
                value = float(value)
            except ValueError:
                raise ValueError(f'no number for "{target}" in {labels_file.name} (found {value!r})') from None
            _, results, features, cell_elements = decompose_with_provenance(path)
            name = re.sub(r'_+', '_', re.sub(r'\W', '_', path.stem)).strip('_') or 'cif'
            name = name if name not in values else f'{name}_{len(values)}'
            inputs[f'{INPUT}{name}'] = network_input(family, results['structure'], fingerprint_settings)
            inputs[f'{FEATURES}{name}'] = features
            values[name], elements[name] = value, ' '.join(cell_elements)
            click.echo(f'  {path}: {target} = {value:g}', err=True)
    if len(values) < 4:
        raise click.ClickException(f'{len(values)} labelled structures: at least 4 are needed')
    settings = {'family': family, 'target': target, 'units': units, 'epochs': epochs, 'cv_folds': cv_folds,
                'seed': seed}
    extra = {'source': source} if source is not None else {}
    click.echo(f'training {family} on {len(values)} structures ({cv_folds}-fold error first)...', err=True)
    model = train_network(orm.Dict(settings), orm.Dict({'values': values, 'elements': elements}), **extra, **inputs)
    if model_label:
        model.label = model_label
    rmse = model.base.attributes.get('rmse')
    stated = f'{cv_folds}-fold test RMSE {rmse:.4g} {units}'.strip() if rmse is not None else 'no stated uncertainty'
    click.echo(f'TrainedModelData<{model.pk}> {model.uuid}: {family} of {target}, {stated} '
               f'(target spread {model.base.attributes.get("metrics")["target_std"]:.4g})')
    batch.exit()


@click.command('screen')
@CIF_PATHS
@MODEL
@click.option('--temperature', type=float, default=300.0, show_default=True, help='For models of v_atom (K).')
@click.option('--ascending', is_flag=True, help='Rank the smallest prediction first (default: the largest).')
@click.option('--store/--no-store', default=True, show_default=True,
              help='Record each CIF, decomposition, features and prediction as provenance nodes.')
@group_option(help='Also put the prediction nodes in this group.')
@click.option('--json', 'as_json', is_flag=True, help='One JSON record per CIF instead of a table.')
@reading_options
@PROFILE
def cmd_screen(paths, model_id, temperature, ascending, store, group_label, as_json, reading, profile_name):
    """Rank CIFs in PATHS by a trained model's prediction, without simulating them.

    A CIF that cannot be decomposed is reported with its reason and the
    others are still ranked; the exit status is 1 if any CIF failed.
    """
    load_profile(profile_name)
    import functools

    from aiida import orm

    from aiida_perovskite.ml.screening import predict_cif, rank_predictions

    model = load_model(model_id)
    predict_one = None  # in memory (nothing stored)
    if store:
        from aiida_perovskite.tools.screening import predict_cif_with_provenance

        group = orm.Group.collection.get_or_create(group_label)[0] if group_label else None
        predict_one = functools.partial(predict_cif_with_provenance, group=group, reading=reading)
    predict_one = predict_one or functools.partial(predict_cif, reading=reading)
    rows, batch = [], Batch(paths)
    for path in batch:
        with batch.step(path):
            rows.append(predict_one(path, model, temperature))
    rows = rank_predictions(rows, ascending)
    if as_json:
        for record in rows:
            click.echo(json.dumps(record))
        for path, kind, message in batch.failures:
            click.echo(json.dumps({'file': path, 'error': f'{kind}: {message}'}))
    else:
        print_ranking(rows, batch.failed, model, temperature)
    batch.exit()


def print_ranking(rows, failed: int, model, temperature):
    """The ranked table with the model's target and units above it (the ``failed`` inputs are on stderr already)."""
    from tabulate import tabulate

    units = model.base.attributes.get('units', '')
    at = f' at {temperature:g} K' if 'thermo:temperature' in model.feature_names else ''
    click.echo(f'{model.task}{at} by {model.family} (TrainedModelData<{model.pk}>), in {units}')
    from aiida_perovskite.ml.domain import describe

    table = [[row['rank'], row['file'], row['smiles'], f'{row["prediction"]:.5g}', f'{row["uncertainty"]:.2g}',
              describe(row.get('domain'))] for row in rows]
    click.echo(tabulate(table, headers=['rank', 'cif', 'spacer', 'prediction', '±', 'domain'], disable_numparse=True))
    outside = sum(row.get('in_domain') is False for row in rows)
    if outside:
        click.echo(f'{outside} out of the training domain: their predictions are extrapolations')
    click.echo(f'{len(rows)} ranked, {failed} failed')
