"""``aiida-perovskite parametrise``: one CIF to a LAMMPS system, through the provenance graph."""

from __future__ import annotations

import pathlib
import sys

import click

from .common import load_profile_and_codes
from .params import COMPUTER, PROFILE


@click.command('parametrise')
@click.argument('cif', type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path))
@click.option('--charges', type=click.Choice(['bcc', 'gas']), default='bcc', show_default=True,
              help='AM1-BCC (sqm) or Gasteiger (fast) partial charges for the organic molecules.')
@click.option('--charge-model', default='formal', show_default=True,
              help='Ion charges and the organic factor: formal, myp or scaled:F (see `validate`).')
@click.option('--atom-types', type=click.Choice(['gaff', 'gaff2']), default='gaff', show_default=True)
@click.option('--parameter-set', default='auto', show_default=True,
              help='Ion and cross-term parameter set (auto: the one covering the structure).')
@click.option('--heteroatom-policy', type=click.Choice(['heavy-as-cn', 'refuse']), default='heavy-as-cn',
              show_default=True, help='Spacer atoms without their own cross terms: borrow ion-(C,N), or refuse.')
@click.option('--supercell', nargs=3, type=click.IntRange(min=1), default=(3, 3, 3), show_default=True,
              help='Replication of the cell along a, b, c.')
@click.option('--auto-supercell', is_flag=True, help='Smallest replication at least twice the cut-off wide.')
@click.option('--cutoff', type=float, default=12.0, show_default=True, help='Pair cut-off (Angstrom).')
@click.option('--write-dir', type=click.Path(file_okay=False, path_type=pathlib.Path),
              help='Write data.lmp and forcefield.lmp here.')
@COMPUTER
@PROFILE
def cmd_parametrise(cif, charges, charge_model, atom_types, parameter_set, heteroatom_policy, supercell, auto_supercell, cutoff,
                    write_dir, computer, profile_name):
    """Parametrise CIF (GAFF spacers + literature ion parameters) into a LAMMPS system.

    Runs the ParametriseWorkChain (decomposition, antechamber, parmchk2,
    tleap, LAMMPS topology); every file is a node of the provenance graph.
    Needs `aiida-perovskite setup` once.
    """
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_perovskite.workflows.parametrise import ParametriseWorkChain

    from aiida_perovskite.forcefield import ForceFieldError, parse_charge_model

    try:
        charge_model = parse_charge_model(charge_model).spec
    except ForceFieldError as error:
        raise click.BadParameter(str(error), param_hint='--charge-model') from None
    codes = load_profile_and_codes(profile_name, computer, ('antechamber', 'parmchk2', 'tleap'))

    lammps = {'replication': 'auto' if auto_supercell else list(supercell), 'cutoff': cutoff, 'kspace_accuracy': 1e-5}
    results, node = run_get_node(
        ParametriseWorkChain,
        cif=orm.CifData(file=str(cif.resolve()), filename=cif.name),
        codes=codes,
        charge_method=orm.Str(charges),
        charge_model=orm.Str(charge_model),
        atom_types=orm.Str(atom_types),
        parameter_set=orm.Str(parameter_set),
        heteroatom_policy=orm.Str(heteroatom_policy),
        lammps=orm.Dict(lammps),
    )
    if not node.is_finished_ok:
        click.echo(f'{cif}: failed [{node.exit_status}] {node.exit_message}', err=True)
        sys.exit(1)

    topology = results['topology']
    attributes = topology.base.attributes.all
    record = results['decomposition'].get_dict()
    click.echo(f'{cif.name}: {record["formula"]}, '
               + ', '.join(f'{s["smiles"]} x{s["count"]}' for s in record['spacers']))
    click.echo(f'  topology<{topology.pk}>: {attributes["n_atoms"]} atoms, replication {attributes["replication"]}, '
               f'{attributes["parameter_set"]} ({attributes["heteroatom_policy"]}), charges {charges}, '
               f'charge model {attributes["charge_model"]} (organic x{attributes["organic_charge_scale"]:.4g}), {atom_types}')
    for assumption in attributes['assumptions']:
        click.echo(f'  assumption: {assumption}')
    if write_dir:
        for path in topology.write(write_dir):
            click.echo(f'  wrote {path}')
    click.echo(f'  provenance: workchain<{node.pk}>; `verdi node graph generate {topology.pk}` draws it')
