"""``aiida-perovskite validate``: simulated vs reference cell, per charge model and parameter set."""

from __future__ import annotations

import json
import pathlib

import click

from aiida_perovskite.workflows.protocols.utils import default_force_field, load_protocol_file, protocol_inputs

from .common import Batch, describe_error, exit_label, load_profile_and_codes
from .params import CIF_PATHS, COMPUTER, MPIPROCS, PROFILE, group_option, reading_options

#: The validation protocol and its force field (the parametrisation's in the protocol of the same name).
VALIDATION = protocol_inputs('validation.yaml')
FORCE_FIELD = default_force_field(load_protocol_file('validation.yaml')['default_protocol'])


@click.command('validate')
@CIF_PATHS
@click.option('--temperature', type=click.FloatRange(min=1), default=300.0, show_default=True,
              help='Reference temperature (K) for CIFs that do not state theirs '
                   '(_diffrn_ambient_temperature or _cell_measurement_temperature).')
@click.option('--charges', 'charge_models', multiple=True,
              help='Charge model: formal, myp or scaled:F (repeat to compare several) [default: the protocol\'s].')
@click.option('--params', 'parameter_sets', multiple=True,
              help='Parameter set by name, auto, or a preference list "A, auto" (repeat to compare several) '
                   f'[default: the protocol\'s; default force field: {FORCE_FIELD["summary"]}].')
@click.option('--partial-charges', type=click.Choice(['bcc', 'gas']),
              help='How the spacers\' partial charges are computed (AM1-BCC or Gasteiger) [default: the protocol\'s].')
@click.option('--steps', type=click.IntRange(min=100),
              help=f'Sampled NPT steps after as many equilibration steps [default: the protocol\'s, {VALIDATION["steps"]}].')
@click.option('--min-width', type=click.FloatRange(min=1),
              help='Replicate the cell until it is at least this wide (Angstrom) in every direction [default: the '
                   f'protocol\'s, {VALIDATION["material"]["parametrise"]["lammps"]["replication"]["min_width"]:g}].')
@click.option('--seed', 'seeds', type=click.IntRange(min=1), multiple=True,
              help='Velocity seed of the NPT; repeat to run replicates of each CIF and set (one final frame of 8-16 '
                   'octahedra is a noisy measure) [default: the protocol\'s].')
@click.option('--engine', default='lammps', show_default=True,
              help='lammps: NPT at the reference temperature with the force field; mlip:NAME[+d3]: a 0 K relaxation '
                   'with a machine-learned potential (chgnet, sevennet; +d3 adds D3(BJ) dispersion).')
@click.option('--mlip-settings', 'mlip_settings', metavar='JSON',
              help='With --engine mlip:...: driver settings over the MLIP protocol, e.g. \'{"fmax": 0.02}\'.')
@reading_options
@group_option(default='validation', show_default=True, help='Group the validation nodes go in.')
@click.option('--json', 'json_file', type=click.Path(dir_okay=False, path_type=pathlib.Path),
              help='Also write every validation record to this JSON file.')
@MPIPROCS
@COMPUTER
@PROFILE
def cmd_validate(paths, temperature, charge_models, parameter_sets, partial_charges, steps, min_width, seeds, engine,
                 mlip_settings, reading, group_label, json_file, mpiprocs, computer, profile_name):
    """Run a short NPT of each CIF in PATHS at its reference temperature and compare with its own cell.

    The cell is first minimised with its shape free, then run at constant pressure.

    For every charge model and parameter set asked for, prints simulated against reference
    a, b, c and angles (each named in-plane or stacking), the in-plane area and layer spacing
    per metal, the volume, and the share of metals that keep six halides within 1.25 times the
    input cell's own metal-halide bond in the quenched last frame. Each
    run is a ValidationWorkChain whose `validation` output holds the same table. A CIF that
    cannot be read, or whose elements no parameter set covers, is reported and skipped; with
    several --params, each CIF runs with those that cover its elements (the others are named).

    With --engine mlip:NAME[+d3] each CIF is instead relaxed at 0 K (positions and cell, first
    at 1 GPa, then at 0 GPa) with that potential, and the same table compares the relaxed cell
    with the CIF's (the potential, its version and weights hash head the table).
    """
    if engine != 'lammps':
        _validate_with_mlip(paths, engine, mlip_settings, group_label, json_file, computer, profile_name, reading,
                            lammps_only={'--charges': charge_models, '--params': parameter_sets,
                                         '--partial-charges': partial_charges, '--steps': steps,
                                         '--min-width': min_width, '--seed': seeds, '--mpiprocs': mpiprocs != 'auto'})
        return
    if mlip_settings:
        raise click.BadParameter('--mlip-settings goes with --engine mlip:NAME', param_hint='--mlip-settings')
    from aiida_perovskite.forcefield import ForceFieldError, load_parameter_set, parse_charge_model

    charge_models = charge_models or (FORCE_FIELD['charge_model'],)
    parameter_sets = parameter_sets or (FORCE_FIELD['parameter_set'],)

    try:
        models = [parse_charge_model(spec).spec for spec in charge_models]
        for spec in parameter_sets:  # a name, auto, or a preference list "myp-pbi-uffi, auto"
            for name in (part.strip() for part in spec.split(',')):
                if name != 'auto':
                    load_parameter_set(name)
    except ForceFieldError as error:
        raise click.BadParameter(str(error)) from None

    from aiida import orm

    from aiida_perovskite.tools.validation import (
        prepare_validations,
        run_validation,
        validation_overrides,
    )

    codes = load_profile_and_codes(profile_name, computer)
    group, _ = orm.Group.collection.get_or_create(group_label)
    if mpiprocs == 'auto':  # the validations run one after the other
        from aiida_perovskite.tools.codes import ranks_per_run

        mpiprocs = ranks_per_run(codes['lammps'].computer)
    options = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': mpiprocs}}

    records, batch = [], Batch(paths)
    for path in batch:
        with batch.step(path):  # every choice checked before anything runs: unreadable CIF, uncovered element...
            skipped = [] if len(parameter_sets) > 1 else None  # several sets: each CIF runs those covering it
            jobs = prepare_validations(path, temperature, [(model, name) for name in parameter_sets for model in models],
                                       skipped=skipped, reading=reading)
            for note in dict.fromkeys(note for job in jobs for note in job.notes):
                click.echo(f'{path}: {note}', err=True)
            for name in dict.fromkeys(name for _, name, _ in skipped or []):
                click.echo(f'{path}: parameter set {name} skipped: it does not cover this CIF\'s ions', err=True)
            for job, seed in ((job, seed) for job in jobs for seed in seeds or (None,)):
                click.echo(f'{path}: {job.charge_model} charges, parameters {job.parameter_set}, NPT at '
                           f'{job.temperature:g} K ({job.temperature_source})'
                           + (f', velocity seed {seed}' if seed is not None else '') + ' ...', err=True)
                node = run_validation(job, codes,
                                      validation_overrides(steps, steps, min_width, partial_charges, seed, reading),
                                      options=options)
                group.add_nodes(node)
                if 'validation' not in node.outputs:  # it did not get as far as the comparison
                    reason = job.error or f'[{node.exit_status}] {node.exit_message}'
                    batch.fail(path, exit_label(node), f'ValidationWorkChain<{node.pk}> failed: {reason}')
                    continue
                records.append(show_record(node.pk, node.outputs.validation.get_dict(), batch, path, seed))
    finish(records, batch, json_file)


def _validate_with_mlip(paths, engine, mlip_settings, group_label, json_file, computer, profile_name, reading,
                        lammps_only):
    """``validate --engine mlip:NAME[+d3]``: a 0 K MLIP relaxation of each CIF against its own cell."""
    from aiida_perovskite.mlip.potentials import parse_name
    from aiida_perovskite.mlip.relax import validate_settings

    given = sorted(option for option, value in lammps_only.items() if value)
    if given:
        raise click.BadParameter(f'{", ".join(given)} apply to --engine lammps only', param_hint='--engine')
    kind, _, potential = engine.partition(':')
    try:
        if kind != 'mlip':
            raise ValueError(f'unknown engine {engine!r}: lammps or mlip:NAME[+d3]')
        parse_name(potential)
        settings = json.loads(mlip_settings) if mlip_settings else {}
        if not isinstance(settings, dict):
            raise ValueError('--mlip-settings must be a JSON object')
        validate_settings({**settings, 'potential': potential})
    except ValueError as error:  # json.JSONDecodeError is a ValueError
        raise click.BadParameter(str(error), param_hint='--engine/--mlip-settings') from None

    from aiida import orm

    from aiida_perovskite.tools.validation import run_mlip_validation

    codes = load_profile_and_codes(profile_name, computer, ('mlip',))
    if potential.startswith('qeq:'):  # a trained potential: its node must exist before any CIF is read
        from aiida_perovskite.workflows.mlip import qeq_potential_node

        try:
            qeq_potential_node(potential)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint='--engine') from None
    group, _ = orm.Group.collection.get_or_create(group_label)
    records, batch = [], Batch(paths)
    for path in batch:
        with batch.step(path):
            click.echo(f'{path}: 0 K relaxation with {engine} ...', err=True)
            node, record, error = run_mlip_validation(path, codes['mlip'], potential, settings, reading=reading)
            group.add_nodes(node)
            if record is None:
                kind, message = describe_error(RuntimeError(error), path)
                batch.fail(path, kind if kind != 'RuntimeError' else exit_label(node),
                           f'{node.process_label}<{node.pk}> failed: {message}')
                continue
            records.append(show_record(node.pk, record, batch, path))
    finish(records, batch, json_file)


def show_record(pk: int, record: dict, batch: Batch, path, seed: int | None = None) -> dict:
    """Print a validation record's table; a run whose physics broke (its octahedra came apart, its volume ran
    away) is a failure of the batch, with the reason. Return the record with its node's PK, as the JSON file
    keeps it."""
    from aiida_perovskite.tools.validation import validation_table

    click.echo(validation_table(record))
    click.echo('')
    problems = record.get('physics', {}).get('problems', [])
    if problems:
        batch.fail(path, 'BrokenPhysics', f'node {pk}: ' + '; '.join(problems))
    return {'pk': pk, **record, **({'seed': seed} if seed is not None else {})}


def finish(records: list[dict], batch: Batch, json_file) -> None:
    """Write the JSON file if asked, say how many ran, broke and failed, and exit non-zero if any did."""
    if json_file:
        json_file.write_text(json.dumps(records, indent=2))
    broken = sum(bool(record.get('physics', {}).get('broken')) for record in records)
    click.echo(f'{len(records)} validation(s), {broken} with broken physics, {batch.failed - broken} failed'
               if broken else f'{len(records)} validation(s), {batch.failed} failed', err=True)
    batch.exit()
