"""``aiida-perovskite report``, ``export`` and ``graph``: what a group holds, as tables, an archive and a drawing.

All three read the provenance graph only (no code, computer or daemon), so they work as well on
a profile that imported the group's archive as on the one that ran it.
"""

from __future__ import annotations

import pathlib

import click

from .common import load_model, load_node, load_profile
from .params import GROUP, PROFILE, model_option


@click.command('report')
@GROUP
@click.option('-o', '--output', 'output_dir', type=click.Path(file_okay=False, path_type=pathlib.Path),
              help='Also write index.html, CSV tables and PNG plots here.')
@click.option('--all-models', is_flag=True, help='List the models of earlier trainings too (default: the newest of each).')
@PROFILE
def cmd_report(group_label, output_dir, all_models, profile_name):
    """Per material of the group: state, Cp(U) ± stderr, V_atom per temperature and flags; the models
    trained on the group with their test R2; the screening predictions made with them."""
    load_profile(profile_name)
    from tabulate import tabulate

    from aiida_perovskite.analysis.report import material_table, model_table, prediction_table, write_group_report
    from aiida_perovskite.tools.report import group_report

    try:
        report = group_report(group_label)
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    materials = report['materials']
    click.echo(f'group {group_label}: {len(materials)} material(s)')
    headers, rows = material_table(materials)
    click.echo(tabulate(rows, headers=headers, disable_numparse=True))  # values as formatted
    finished = sum(record['state'] == 'finished' for record in materials)
    broken = [record for record in materials if record['state'] == 'broken physics']
    failed = sum(record['terminated'] and record['state'] != 'finished' for record in materials) - len(broken)
    click.echo(f'{finished} finished, ' + (f'{len(broken)} broken physics (flagged), ' if broken else '')
               + f'{failed} failed, {len(materials) - finished - len(broken) - failed} in progress')
    for record in broken:  # the reason in full: the table cuts messages short
        click.echo(f'  {record["cif"]}: {record["message"]}')
    click.echo('')
    if report['models']:
        datasets = ', '.join(f'DatasetData<{d["pk"]}> ({d["n_materials"]} materials)' for d in report['datasets'])
        click.echo(f'models trained on {datasets} (outer-fold test R2, mean ± std):')
        shown = [model for model in report['models'] if all_models or model['newest']]
        headers, rows = model_table(shown)
        click.echo(tabulate(rows, headers=headers, disable_numparse=True))
        if len(shown) < len(report['models']):
            click.echo(f'({len(report["models"]) - len(shown)} model(s) of earlier trainings not shown: --all-models)')
    else:
        click.echo('no model trained on this group yet (aiida-perovskite train)')
    if report['predictions']:
        click.echo('\nscreening predictions:')
        headers, rows = prediction_table(report['predictions'])
        click.echo(tabulate(rows, headers=headers, disable_numparse=True))
    if output_dir:
        model_reports = {}
        for training_pk, folder in report['report_folders']:
            target = (output_dir / 'training' / str(training_pk)).resolve()  # AiiDA wants an absolute path
            target.mkdir(parents=True, exist_ok=True)
            folder.base.repository.copy_tree(target)
            model_reports[training_pk] = f'training/{training_pk}'
        written = write_group_report(report, output_dir, model_reports, all_models=all_models)
        click.echo(f'\nreport: {written["index"]} ({", ".join(sorted(p.name for k, p in written.items() if k != "index"))})')


@click.command('export')
@GROUP
@click.argument('archive', type=click.Path(dir_okay=False, path_type=pathlib.Path))
@click.option('-f', '--force', is_flag=True, help='Overwrite ARCHIVE if it exists.')
@PROFILE
def cmd_export(group_label, archive, force, profile_name):
    """Write the group, its materials' full provenance, its datasets, models and reports to an AiiDA archive.

    `verdi archive import ARCHIVE` loads it into any profile, where `aiida-perovskite report`
    and `graph` work without the codes or computers that ran it.
    """
    load_profile(profile_name)
    from aiida import orm
    from aiida.tools.archive import create_archive
    from aiida.tools.archive.abstract import get_format

    from aiida_perovskite.tools.report import export_entities

    try:
        entities = export_entities(group_label)
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    if archive.exists() and not force:
        raise click.ClickException(f'{archive} exists (use --force to overwrite)')
    archive.parent.mkdir(parents=True, exist_ok=True)
    import logging

    logging.getLogger('aiida.export').setLevel(logging.WARNING)  # its parameter tables; one line below says it all
    create_archive(entities, filename=archive, overwrite=force)
    with get_format().open(archive, mode='r') as reader:
        nodes = reader.querybuilder().append(orm.Node).count()
    size = archive.stat().st_size / 1e6
    click.echo(f'{archive}: group {group_label} with {nodes} nodes ({size:.1f} MB); '
               f'load it elsewhere with `verdi archive import {archive.name}`')


@click.command('graph')
@click.option('--material', 'material_id', help='PK or UUID of a MaterialWorkChain (or of its CIF).')
@model_option()
@click.option('-o', '--output', 'output_file', required=True, type=click.Path(dir_okay=False, path_type=pathlib.Path),
              help='Image to write; the suffix gives the format (.svg, .png, .pdf).')
@PROFILE
def cmd_graph(material_id, model_id, output_file, profile_name):
    """Draw the provenance of one material (CIF -> parametrisation -> ladder -> targets -> dataset -> models)
    or of one model (back to every training CIF), collapsed to the main path."""
    if bool(material_id) == bool(model_id):
        raise click.UsageError('give exactly one of --material and --model')
    if output_file.suffix.lower() not in ('.svg', '.png', '.pdf'):
        raise click.BadParameter('the output must end in .svg, .png or .pdf', param_hint='-o')
    load_profile(profile_name)
    import shutil

    from aiida import orm

    from aiida_perovskite.tools.graph import draw, render, select_material, select_model

    if shutil.which('dot') is None:
        raise click.ClickException('Graphviz `dot` is not installed (Debian: apt-get install graphviz; `make install` does)')
    if material_id:
        node = load_node(material_id)
        if isinstance(node, orm.CifData):  # the CIF's material, the newest if it ran more than once
            node = orm.QueryBuilder().append(orm.CifData, filters={'id': node.pk}, tag='cif').append(
                orm.WorkChainNode, with_incoming='cif', filters={'attributes.process_label': 'MaterialWorkChain'},
                project='*').order_by({orm.WorkChainNode: {'id': 'desc'}}).first(flat=True)
            if node is None:
                raise click.ClickException(f'CIF {material_id} was never run as a material')
        if getattr(node, 'process_label', None) != 'MaterialWorkChain':
            raise click.ClickException(f'node {material_id} is a {type(node).__name__}, not a MaterialWorkChain')
        selection = select_material(node)
        title = f'{node.base.extras.get("cif_file", node.inputs.cif.filename)}: MaterialWorkChain<{node.pk}>'
    else:
        node = load_model(model_id)
        selection = select_model(node)
        title = f'{node.label or node.family}: TrainedModelData<{node.pk}>'
    path = render(draw(selection, title), output_file)
    click.echo(f'{path}: {len(selection.nodes)} nodes')

