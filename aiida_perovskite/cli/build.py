"""``aiida-perovskite build``: a hypothetical layered perovskite from a spacer SMILES, written as a CIF."""

from __future__ import annotations

import math
import pathlib
import sys

import click

from . import cmd_root
from .common import load_profile_and_codes
from aiida_perovskite.workflows.protocols.utils import default_force_field


@cmd_root.command('build')
@click.option('--spacer', 'smiles', metavar='SMILES', help='The spacer: a neutral amine or the cation, e.g. CCCCN.')
@click.option('--name', 'bundled', metavar='NAME',
              help='A bundled spacer by abbreviation or name (e.g. BA, PEA, BDA); see --list.')
@click.option('--metal', type=click.Choice(['Pb', 'Sn']), default='Pb', show_default=True)
@click.option('--halide', type=click.Choice(['I', 'Br', 'Cl']), default='I', show_default=True)
@click.option('--phase', type=click.Choice(['RP', 'DJ'], case_sensitive=False),
              help='RP: two monoammonium sheets; DJ: one diammonium sheet [default: the bundled spacer\'s, else RP].')
@click.option('--n', 'n_layers', type=click.IntRange(min=1), default=1, show_default=True,
              help='Octahedral layers per slab (n > 1 puts A-site cations in the cages).')
@click.option('--a-cation', type=click.Choice(['MA', 'Cs']), default='MA', show_default=True,
              help='A-site cation of n > 1 slabs.')
@click.option('--packing', type=click.Choice(['herringbone', 'parallel']), default='herringbone', show_default=True,
              help='herringbone: a sqrt(2) x sqrt(2) cell, two octahedra per layer turned opposite ways, each spacer '
                   'beside its mirror image; parallel: one flat octahedron per cell, every spacer alike.')
@click.option('--octahedral-rotation', type=click.FloatRange(0, 30, max_open=True),
              help='Rotation (degrees) of the octahedra about the stacking axis, alternating in a checkerboard; the '
                   'B-X-B angle is 180 minus twice this [default: 12 for herringbone; parallel cells are flat].')
@click.option('--head-torsion', default='auto', show_default=True, metavar='auto|DEGREES',
              help='Torsion N-C-C-X of the first bond out of the ammonium head: auto is gauche (65) before an '
                   'aromatic ring, as in (PEA)2PbI4, and anti (180) otherwise.')
@click.option('-o', '--output', type=click.Path(dir_okay=False, path_type=pathlib.Path),
              help='CIF to write [default: e.g. ba_pbi_rp_n1.cif in the current folder].')
@click.option('--profile', 'profile_name',
              help='Record the build as a perovskite.build calcfunction in this AiiDA profile (the CIF is then '
                   'written from the stored node, whose inputs are the SMILES and the settings).')
@click.option('--relax', is_flag=True,
              help='Then relax the cell with the project\'s force field: parametrisation and a short NPT run at '
                   '300 K (a one-temperature MaterialWorkChain, needs --profile with codes from `aiida-perovskite setup`); writes '
                   'the final supercell beside the CIF (*_relaxed.cif) and prints its lattice per cell. Force field: '
                   f'{default_force_field()["summary"]}.')
@click.option('--relax-steps', type=click.IntRange(min=100), default=10000, show_default=True,
              help='NPT steps (1 fs) at 300 K for --relax, after half as many equilibration steps.')
@click.option('--relax-charges', type=click.Choice(['bcc', 'gas']),
              help='Spacer partial charges for --relax: AM1-BCC (sqm) or Gasteiger [default: the protocol\'s].')
@click.option('--list', 'list_only', is_flag=True, help='List the bundled spacers and exit.')
def cmd_build(smiles, bundled, metal, halide, phase, n_layers, a_cation, packing, octahedral_rotation, head_torsion, output,
              profile_name, relax, relax_steps, relax_charges, list_only):
    """Build a 2D perovskite cell for a spacer and check it with the project's own validation.

    The spacer is protonated (aliphatic amines), embedded in 3D and placed
    with its ammonium head(s) in the pockets of a flat corner-sharing BX6
    layer; RP needs one head, DJ two. The CIF is read back and decomposed:
    the row printed is what `aiida-perovskite inspect` says about it.
    """
    from aiida_perovskite.builder import BuildError, build_perovskite, find_spacer, load_spacers
    from aiida_perovskite.calculations.functions.build import cif_name
    from aiida_perovskite.structure import StructureError, inspect_cif

    if list_only:
        from tabulate import tabulate

        rows = [[s['abbreviation'], s['name'], s['phase'], s['smiles']] for s in load_spacers()]
        click.echo(tabulate(rows, headers=['abbreviation', 'name', 'phase', 'SMILES'], tablefmt='simple'))
        return
    if bool(smiles) == bool(bundled):
        raise click.UsageError('give exactly one of --spacer SMILES or --name NAME (see --list)')
    if relax and not profile_name:
        raise click.UsageError('--relax runs AiiDA work chains: give --profile (made by `aiida-perovskite setup`)')

    label = 'spacer'
    try:
        if bundled:
            entry = find_spacer(bundled)
            smiles, label = entry['smiles'], entry['abbreviation']
            phase = phase or entry['phase']
        settings = {'phase': (phase or 'RP').upper(), 'n': n_layers, 'metal': metal, 'halide': halide,
                    'a_cation': a_cation, 'packing': packing,
                    'head_torsion': head_torsion, 'octahedral_rotation': octahedral_rotation}
        if profile_name:
            node, cif_text, filename = _build_with_provenance(profile_name, smiles, settings, label)
        else:
            from aiida_perovskite.structure import format_cif

            result = build_perovskite(smiles, **settings)
            cif_text, filename, node = format_cif(result.structure), cif_name(label, result.settings), None
    except BuildError as error:
        raise click.ClickException(str(error)) from None

    output = output or pathlib.Path(filename)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(cif_text)
    try:
        decomposition = inspect_cif(output)
    except StructureError as error:  # a builder bug: say so plainly rather than leave a bad file unnoticed
        raise click.ClickException(f'the built cell fails validation (please report it): {error}') from None
    spacer = decomposition.spacers[0]
    click.echo(f'wrote {output}: {decomposition.formula}, {spacer.smiles} ({spacer.charge:+d}) x{spacer.count}, '
               f'a = {decomposition.structure.lattice.a:.2f} A, stacking period {decomposition.stacking_period:.2f} A, '
               f'n = {decomposition.n_layers}, d_inter = {decomposition.interlayer_distance:.2f} A')
    if node is not None:
        click.echo(f'  provenance: calcfunction<{node.pk}> perovskite.build, cif<{node.outputs.cif.pk}>')
    if relax:
        _relax(node, output, relax_steps, relax_charges)


def _build_with_provenance(profile_name, smiles, settings, label):
    from aiida import load_profile, orm

    from aiida_perovskite.builder import BuildError
    from aiida_perovskite.calculations.functions.build import build_perovskite as build_node

    load_profile(profile_name, allow_switch=True)
    _, node = build_node.run_get_node(orm.Str(smiles), orm.Dict({**settings, 'label': label}))
    if not node.is_finished_ok:
        raise BuildError(node.exit_message.removeprefix('BuildError: '))
    cif = node.outputs.cif
    with cif.open(mode='r') as handle:
        return node, handle.read(), cif.filename


def _relax(build_node, output: pathlib.Path, steps: int, charges: str) -> None:
    """Parametrise the built cell and run it briefly at 300 K; print the lattice per cell.

    A ``MaterialWorkChain`` on the default protocol (``run``'s) with one temperature and a 2x2x2
    supercell, started from the built CIF node, so the provenance runs from the SMILES to the
    relaxed cell (its Cp(U) is None: one temperature has no slope).
    """
    from aiida.engine import run_get_node

    from aiida_perovskite.workflows.material import MaterialWorkChain

    codes = load_profile_and_codes(None)  # the profile cmd_build loaded
    equilibration = max(steps // 2, 100)
    overrides = {
        'parametrise': {'lammps': {'replication': {'in_plane': 2, 'stacking': 2}}},
        'ladder': {'temperatures': [300], 'steps_per_temperature': steps, 'equilibration_steps': equilibration,
                   'equilibration_cut': steps // 5, 'thermo_every': 100, 'restart_every': max(steps // 2, 100)},
    }
    if charges:
        overrides['parametrise']['charge_method'] = charges
    builder = MaterialWorkChain.get_builder_from_protocol(codes, build_node.outputs.cif, None, overrides)
    click.echo(f'  relaxing: parametrisation ({builder.parametrise.parameter_set.value}, {builder.parametrise.charge_model.value} '
               f'ion charges, {builder.parametrise.charge_method.value} spacer charges) and {equilibration} + {steps} NPT '
               'steps at 300 K ...')
    _, node = run_get_node(builder)
    if not node.is_finished_ok:
        click.echo(f'  relaxation failed: [{node.exit_status}] {node.exit_message}', err=True)
        sys.exit(1)
    per_layer = build_node.outputs.record['measured'].get('metals_per_layer', 1)
    figures = relaxed_lattice(node.outputs.ladder.summaries['T300'], node.outputs.parametrise.topology, per_layer)
    relaxed = output.with_name(output.stem + '_relaxed.cif')
    node.outputs.ladder.structure.get_pymatgen().to(filename=str(relaxed))
    click.echo(f'  wrote {relaxed} (the final {figures["replication"]} supercell); MaterialWorkChain<{node.pk}>')
    click.echo('  per cell at 300 K (mean after the cut): a = {a:.2f} A, b = {b:.2f} A, stacking period '
               '{period:.2f} A; sqrt(2) x sqrt(2) cell edges {diag1:.2f} A, {diag2:.2f} A; '
               'two-layer period {two_layers:.2f} A'.format(**figures))


def relaxed_lattice(summary_node, topology, metals_per_layer: int = 1) -> dict:
    """Per-cell lattice figures from a 300 K summary of the ladder (means over the samples) and its topology.

    The LAMMPS box (lx, ly, lz, xy, xz, yz) is the supercell; the cell's a and b lie in the layer
    plane, so lz / stacking replication is the stacking period and the in-plane vectors divide by
    the in-plane replication. The sqrt(2) x sqrt(2) cell edges are the figures comparable with the
    usual experimental cells, which hold two octahedra per layer: |a+b| and |a-b| of a one-octahedron
    cell (``metals_per_layer`` 1), a and b themselves of a herringbone cell (2).
    """
    import numpy as np

    summary = summary_node.get_dict()
    replication = topology.base.attributes.get('replication')
    na, nb, nc = replication
    a = np.array([summary['lx_mean'], 0.0]) / na
    b = np.array([summary['xy_mean'], summary['ly_mean']]) / nb
    period = summary['lz_mean'] / nc
    return {
        'replication': 'x'.join(str(k) for k in replication),
        'a': float(np.linalg.norm(a)), 'b': float(np.linalg.norm(b)), 'period': float(period),
        'diag1': float(np.linalg.norm(a + b if metals_per_layer == 1 else a)),
        'diag2': float(np.linalg.norm(a - b if metals_per_layer == 1 else b)),
        'two_layers': float(2 * period), 'gamma': float(math.degrees(math.acos(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))),
    }
