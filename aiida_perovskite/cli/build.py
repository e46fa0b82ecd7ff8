"""``aiida-perovskite build``: a hypothetical layered perovskite from a spacer SMILES, written as a CIF."""

from __future__ import annotations

import pathlib
import sys

import click

from aiida_perovskite.workflows.protocols.utils import default_force_field

from .common import Batch, load_profile, load_profile_and_codes
from .params import profile_option


@click.command('build')
@click.option('--spacer', 'smiles', metavar='SMILES', multiple=True,
              help='The spacer: a neutral amine or the cation, e.g. CCCCN (repeat to build several).')
@click.option('--name', 'bundled', metavar='NAME', multiple=True,
              help='A bundled spacer by abbreviation or name (e.g. BA, PEA, BDA; repeat to build several); see --list.')
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
@click.option('-o', '--output', type=click.Path(path_type=pathlib.Path),
              help='CIF to write [default: e.g. ba_pbi_rp_n1.cif in the current folder]; with several spacers, the '
                   'folder the CIFs go in (each under its default name).')
@profile_option(help='Record the build as a perovskite.build calcfunction in this AiiDA profile (the CIF is then '
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
    the row printed is what `aiida-perovskite inspect` says about it. With
    several --spacer/--name, each is built in turn; one that cannot be built
    is reported on one line (spacer, error class, message) and the others go
    on (exit status 1).
    """
    from aiida_perovskite.builder import BuildError, load_spacers

    if list_only:
        from tabulate import tabulate

        rows = [[s['abbreviation'], s['name'], s['phase'], s['smiles']] for s in load_spacers()]
        click.echo(tabulate(rows, headers=['abbreviation', 'name', 'phase', 'SMILES'], tablefmt='simple'))
        return
    spacers = [('smiles', value) for value in smiles] + [('name', value) for value in bundled]
    if not spacers:
        raise click.UsageError('give exactly one of --spacer SMILES or --name NAME (see --list), or repeat them to '
                               'build several')
    if relax and not profile_name:
        raise click.UsageError('--relax runs AiiDA work chains: give --profile (made by `aiida-perovskite setup`)')
    if profile_name:
        load_profile(profile_name)
    settings = {'phase': phase, 'n': n_layers, 'metal': metal, 'halide': halide, 'a_cation': a_cation,
                'packing': packing, 'head_torsion': head_torsion, 'octahedral_rotation': octahedral_rotation}
    if len(spacers) == 1:
        kind, value = spacers[0]
        try:
            output, node = build_one(kind, value, settings, output, profile_name is not None)
        except BuildError as error:
            raise click.ClickException(str(error)) from None
        if relax:
            relax_and_print(node, output, relax_steps, relax_charges)
        return
    if relax:
        raise click.UsageError('--relax builds and relaxes one spacer at a time')
    if output is not None and output.suffix.lower() == '.cif':
        raise click.UsageError(f'with several spacers -o is the folder the CIFs go in, not a file ({output})')
    batch = Batch(expand=False)
    for kind, value in spacers:
        with batch.step(value):
            build_one(kind, value, settings, None, profile_name is not None, folder=output)
    batch.exit()


def build_one(kind: str, value: str, settings: dict, output: pathlib.Path | None, with_provenance: bool,
              folder: pathlib.Path | None = None):
    """Build one spacer's cell (``kind`` ``smiles`` or ``name``), write it and print its row.

    :param output: the CIF to write (None: its default name, in ``folder`` or the current folder).
    :returns: the CIF written and the build's calcfunction node (None without provenance).
    :raises BuildError: the spacer or the settings cannot be built.
    """
    from aiida_perovskite.builder import BuildError, build_perovskite, find_spacer
    from aiida_perovskite.calculations.functions.build import cif_name
    from aiida_perovskite.structure import StructureError, inspect_cif

    smiles, label, phase = value, 'spacer', settings['phase']
    if kind == 'name':
        entry = find_spacer(value)
        smiles, label = entry['smiles'], entry['abbreviation']
        phase = phase or entry['phase']
    settings = {**settings, 'phase': (phase or 'RP').upper()}
    if with_provenance:
        from aiida_perovskite.tools.built_cells import build_with_provenance

        node, cif_text, filename = build_with_provenance(smiles, settings, label)
    else:
        from aiida_perovskite.structure import format_cif

        result = build_perovskite(smiles, **settings)
        cif_text, filename, node = format_cif(result.structure), cif_name(label, result.settings), None

    if output is None:
        output = (folder or pathlib.Path()) / filename
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(cif_text)
    try:
        decomposition = inspect_cif(output)
    except StructureError as error:  # a builder bug: say so plainly rather than leave a bad file unnoticed
        raise BuildError(f'the built cell fails validation (please report it): {error}') from None
    spacer = decomposition.spacers[0]
    click.echo(f'wrote {output}: {decomposition.formula}, {spacer.smiles} ({spacer.charge:+d}) x{spacer.count}, '
               f'a = {decomposition.structure.lattice.a:.2f} A, stacking period {decomposition.stacking_period:.2f} A, '
               f'n = {decomposition.n_layers}, d_inter = {decomposition.interlayer_distance:.2f} A')
    if node is not None:
        click.echo(f'  provenance: calcfunction<{node.pk}> perovskite.build, cif<{node.outputs.cif.pk}>')
    return output, node


def relax_and_print(build_node, output: pathlib.Path, steps: int, charges: str) -> None:
    """Relax the built cell at 300 K (:func:`aiida_perovskite.tools.built_cells.relax_built_cell`), write the
    final supercell beside ``output`` and print its lattice per cell."""
    from aiida_perovskite.tools.built_cells import relax_built_cell, relaxation_builder, relaxed_cell_lattice

    codes = load_profile_and_codes(None)  # the profile cmd_build loaded
    builder = relaxation_builder(build_node, codes, steps, charges)
    parametrise = builder.parametrise
    click.echo(f'  relaxing: parametrisation ({parametrise.parameter_set.value}, {parametrise.charge_model.value} '
               f'ion charges, {parametrise.charge_method.value} spacer charges) and '
               f'{builder.ladder.parameters["equilibration_steps"]} + {steps} NPT steps at 300 K ...')
    node = relax_built_cell(build_node, codes, builder=builder)
    if not node.is_finished_ok:
        click.echo(f'  relaxation failed: [{node.exit_status}] {node.exit_message}', err=True)
        sys.exit(1)
    lattice = relaxed_cell_lattice(node, build_node)
    relaxed = output.with_name(output.stem + '_relaxed.cif')
    node.outputs.ladder.structure.get_pymatgen().to(filename=str(relaxed))
    click.echo(f'  wrote {relaxed} (the final {lattice.supercell} supercell); MaterialWorkChain<{node.pk}>')
    edge1, edge2 = lattice.cell_edges
    click.echo(f'  per cell at 300 K (mean after the cut): a = {lattice.a:.2f} A, b = {lattice.b:.2f} A, stacking period '
               f'{lattice.stacking_period:.2f} A; sqrt(2) x sqrt(2) cell edges {edge1:.2f} A, {edge2:.2f} A; '
               f'two-layer period {lattice.two_layer_period:.2f} A')
