"""``aiida-perovskite parametrise``: one CIF to a LAMMPS system, through the provenance graph."""

from __future__ import annotations

import pathlib
import sys

import click

from aiida_perovskite.workflows.protocols.utils import default_force_field, load_protocol_file

from .common import load_profile_and_codes
from .params import COMPUTER, PROFILE, reading_options

FORCE_FIELD = default_force_field()


@click.command('parametrise')
@click.argument('cif', type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path))
@click.option('--protocol', type=click.Choice(list(load_protocol_file('parametrise.yaml')['protocols'])),
              help='Protocol whose settings the options below change [default: as `run`; default force field: '
                   f'{FORCE_FIELD["summary"]}].')
@click.option('--charges', type=click.Choice(['bcc', 'gas']),
              help='AM1-BCC (sqm) or Gasteiger (fast) partial charges for the organic molecules [default: the '
                   'protocol\'s].')
@click.option('--charge-model', help='Ion charges and the organic factor: formal, myp or scaled:F (see `validate`) '
                                     '[default: the protocol\'s].')
@click.option('--atom-types', type=click.Choice(['gaff', 'gaff2']), help='[default: the protocol\'s]')
@click.option('--parameter-set',
              help='Ion and cross-term parameter set (auto: the first covering the structure whose validation against '
                   'experimental cells holds; unvalidated sets only by name) [default: the '
                   'protocol\'s].')
@click.option('--heteroatom-policy', type=click.Choice(['heavy-as-cn', 'refuse']),
              help='Spacer atoms without their own cross terms: borrow ion-(C,N), or refuse [default: the protocol\'s].')
@click.option('--supercell', nargs=3, type=click.IntRange(min=1),
              help='Replication of the cell along a, b, c [default: the protocol\'s].')
@click.option('--auto-supercell', is_flag=True, help='Smallest replication at least twice the cut-off wide.')
@click.option('--cutoff', type=float, help='Pair cut-off (Angstrom) [default: the protocol\'s].')
@click.option('--write-dir', type=click.Path(file_okay=False, path_type=pathlib.Path),
              help='Write data.lmp and forcefield.lmp here.')
@reading_options
@COMPUTER
@PROFILE
def cmd_parametrise(cif, protocol, charges, charge_model, atom_types, parameter_set, heteroatom_policy, supercell,
                    auto_supercell, cutoff, write_dir, reading, computer, profile_name):
    """Parametrise CIF (GAFF spacers + literature ion parameters) into a LAMMPS system.

    Runs the ParametriseWorkChain (decomposition, antechamber, parmchk2,
    tleap, LAMMPS topology); every file is a node of the provenance graph.
    Needs `aiida-perovskite setup` once.
    """
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_perovskite.forcefield import ForceFieldError, parse_charge_model
    from aiida_perovskite.structure.decompose import reading_notes
    from aiida_perovskite.workflows.parametrise import ParametriseWorkChain

    try:
        charge_model = charge_model and parse_charge_model(charge_model).spec
    except ForceFieldError as error:
        raise click.BadParameter(str(error), param_hint='--charge-model') from None
    codes = load_profile_and_codes(profile_name, computer, ('antechamber', 'parmchk2', 'tleap'))

    # Options not given (None) keep the protocol's value.
    chosen = {'charge_method': charges, 'charge_model': charge_model, 'atom_types': atom_types,
              'parameter_set': parameter_set, 'heteroatom_policy': heteroatom_policy}
    overrides = {key: value for key, value in chosen.items() if value is not None}
    lammps = {'replication': 'auto' if auto_supercell else supercell and list(supercell), 'cutoff': cutoff}
    overrides['lammps'] = {key: value for key, value in lammps.items() if value}
    if reading:
        overrides['decompose_parameters'] = reading
    cif_data = orm.CifData(file=str(cif.resolve()), filename=cif.name)
    results, node = run_get_node(ParametriseWorkChain.get_builder_from_protocol(codes, cif_data, protocol, overrides))
    charges = node.inputs.charge_method.value
    if not node.is_finished_ok:
        click.echo(f'{cif}: failed [{node.exit_status}] {node.exit_message}', err=True)
        sys.exit(1)

    topology = results['topology']
    attributes = topology.base.attributes.all
    record = results['decomposition'].get_dict()
    click.echo(f'{cif.name}: {record["formula"]}, '
               + ', '.join(f'{s["smiles"]} x{s["count"]}' for s in record['spacers']))
    for note in reading_notes(record):
        click.echo(f'  {note}')
    click.echo(f'  topology<{topology.pk}>: {attributes["n_atoms"]} atoms, replication {attributes["replication"]}, '
               f'{attributes["parameter_set"]} ({attributes["heteroatom_policy"]}), charges {charges}, '
               f'charge model {attributes["charge_model"]} (organic x{attributes["organic_charge_scale"]:.4g}), {atom_types}')
    for assumption in attributes['assumptions']:
        click.echo(f'  assumption: {assumption}')
    if write_dir:
        for path in topology.write(write_dir):
            click.echo(f'  wrote {path}')
    click.echo(f'  provenance: workchain<{node.pk}>; `verdi node graph generate {topology.pk}` draws it')
