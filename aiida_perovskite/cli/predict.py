"""``aiida-perovskite predict``: the crystal structure of a layered perovskite from its spacer's SMILES alone."""

from __future__ import annotations

import pathlib
import time

import click

from .common import load_profile_and_codes
from .params import COMPUTER, PROFILE, reading_options


@click.command('predict')
@click.option('--spacer', 'smiles', required=True, metavar='SMILES', help='The spacer, e.g. CCCCN (protonated here).')
@click.option('--metal', type=click.Choice(['Pb', 'Sn']), default='Pb', show_default=True)
@click.option('--halide', type=click.Choice(['I', 'Br', 'Cl']), default='I', show_default=True)
@click.option('--phase', type=click.Choice(['RP', 'DJ'], case_sensitive=False), default='RP', show_default=True)
@click.option('--candidates', type=click.IntRange(min=1), default=None,
              help='Random candidates (default: the protocol\'s, 50 in screening).')
@click.option('--keep', type=click.IntRange(min=1), default=None,
              help='Lowest distinct candidates re-relaxed with the MLIP (default: the protocol\'s).')
@click.option('--mlip', 'potential', default=None, metavar='NAME[+d3]',
              help='Machine-learned potential of the final relaxation (chgnet, sevennet, with +d3 for dispersion; '
                   'default: the protocol\'s, sevennet+d3, or chgnet in fast).')
@click.option('--seed', type=int, default=0, show_default=True, help='Seed of the candidate generator.')
@click.option('--octahedral-tilt', type=click.FloatRange(0.0, 30.0), nargs=2, default=None, metavar='LOW HIGH',
              help='Draw a checkerboard tilt of the octahedra about an in-plane axis in this range (degrees).')
@click.option('--octahedral-rotation', type=click.FloatRange(0.0, 30.0), nargs=2, default=None, metavar='LOW HIGH',
              help='Draw a checkerboard rotation of the octahedra about the stacking axis in this range (degrees).')
@click.option('--herringbone', type=click.FloatRange(0.0, 180.0), nargs=2, default=None, metavar='LOW HIGH',
              help='Spin every second pocket\'s spacer about its long axis by an angle drawn in this range (degrees), '
                   'so that rings can stand edge to face; default: the protocol\'s.')
@click.option('--anneal', type=(click.FloatRange(min=0.0, min_open=True), float, click.IntRange(min=0)), default=None,
              metavar='K ATM STEPS', help='NPT of every candidate before its minimisation (default: the protocol\'s; '
                                          'STEPS 0 minimises the generated cells directly).')
@click.option('--preselect', type=click.Choice(['mlip', 'classical']), default=None,
              help='What picks the --keep candidates from the classical minima: the MLIP\'s energy at their geometry '
                   '(the protocols\' choice) or their classical energy.')
@click.option('--protocol', type=click.Choice(['thesis', 'screening', 'fast']), default='screening', show_default=True)
@click.option('--compare', 'reference', type=click.Path(dir_okay=False, path_type=pathlib.Path),
              help='Reference CIF: per-metal figures, StructureMatcher verdict and RMS, powder-XRD similarity.')
@click.option('-o', '--output', type=click.Path(dir_okay=False, path_type=pathlib.Path), default=None,
              help='Write the predicted (lowest-energy) structure to this CIF.')
@click.option('--plot', type=click.Path(dir_okay=False, path_type=pathlib.Path), default=None,
              help='Energy landscape PNG (default: next to --output, or predict_landscape.png).')
@reading_options
@PROFILE
@COMPUTER
def cmd_predict(smiles, metal, halide, phase, candidates, keep, potential, seed, octahedral_tilt, octahedral_rotation,
                herringbone, anneal, preselect, protocol, reference, output, plot, profile_name, computer, reading):
    """Predict the structure: random candidates, classical relaxation of all, MLIP relaxation of the lowest.

    The prediction is the lowest MLIP energy per formula unit; it goes straight into `run`, `validate`
    and `screen` through -o. The --compare CIF is read as every command reads CIFs (--disorder and
    --hydrogens apply to it).
    """
    reference_structure = None
    if reference is not None:
        from aiida_perovskite.structure import StructureError, read_cif
        from aiida_perovskite.structure.decompose import reading_notes

        if not reference.is_file():
            raise click.ClickException(f'{reference}: no such file')
        try:
            reference_structure = read_cif(reference, **reading)
        except StructureError as error:
            raise click.ClickException(str(error)) from None
        for note in reading_notes(reference_structure.properties):
            click.echo(f'{reference}: {note}')
    codes = load_profile_and_codes(profile_name, computer, ('antechamber', 'parmchk2', 'tleap', 'lammps', 'mlip'))
    from aiida.engine import run_get_node

    from aiida_perovskite.workflows.search import StructureSearchWorkChain

    overrides = {'generator': {'seed': seed}}
    if potential is not None:
        overrides['mlip'] = {'parameters': {'potential': potential}}
    if candidates is not None:
        overrides['generator']['candidates'] = candidates
    if keep is not None:
        overrides['keep'] = keep
    if anneal is not None:
        overrides['anneal'] = dict(zip(('temperature', 'pressure', 'steps'), anneal))
    if preselect is not None:
        overrides['preselect'] = preselect
    for key, value in (('octahedral_tilt', octahedral_tilt), ('octahedral_rotation', octahedral_rotation),
                       ('herringbone', herringbone)):
        if value:
            overrides['generator'][key] = list(value)
    builder = StructureSearchWorkChain.get_builder_from_protocol(codes, smiles, phase.upper(), metal, halide, protocol,
                                                                 overrides)
    potential = builder.mlip['parameters']['potential']
    click.echo(f'searching {smiles} {phase.upper()} {metal}{halide}4: {builder.generator["candidates"]} candidates, '
               f'keep {builder.keep.value}, {potential} (protocol {protocol})')
    start = time.monotonic()
    results, node = run_get_node(builder)
    seconds = time.monotonic() - start
    if not node.is_finished_ok:
        raise click.ClickException(f'search {node.process_label}<{node.pk}> failed [{node.exit_status}]: '
                                   f'{node.exit_message}')
    energies = results['energies'].get_dict()
    ranking = results['ranking'].get_dict()
    click.echo(f'{len(results["candidates"])} generated, {len(energies["classical"])} relaxed classically, '
               f'{len(energies["mlip"])} with {potential}, {ranking["distinct"]} distinct; {seconds:.0f} s '
               f'(search<{node.pk}>)')
    for position, key in enumerate(ranking['order'], start=1):
        relative = (ranking['energies'][key] - ranking['energies'][ranking['order'][0]]) * 1000
        click.echo(f'  {position:2d}. {key}  {ranking["energies"][key]:.4f} eV/f.u.  (+{relative:.1f} meV)')
    best = results['ranked']['r01'].get_pymatgen_structure()
    if output is not None:
        from pymatgen.io.cif import CifWriter

        CifWriter(best).write_file(output)
        click.echo(f'prediction written to {output}')
    from aiida_perovskite.search.compare import arrangement_line, compare_structures, plot_landscape

    plot = plot or (output.with_name(output.stem + '_landscape.png') if output else pathlib.Path('predict_landscape.png'))
    if 'preselection' in results:
        energies['preselection'] = results['preselection']['energies']
    plot_landscape(energies, plot, f'{smiles} {phase.upper()} {metal}{halide}4')
    click.echo(f'energy landscape: {plot}')
    if reference_structure is not None:
        from tabulate import tabulate

        comparison = compare_structures(best, reference_structure)
        click.echo(tabulate([[r['quantity'], r['unit'], f'{r["reference"]:.2f}', f'{r["predicted"]:.2f}',
                              f'{r["deviation"]:+.1f} %'] for r in comparison['rows']],
                            headers=['per metal', 'unit', reference.name, 'predicted', 'deviation']))
        rms = f', RMS {comparison["rms"]:.3f}' if comparison['rms'] is not None else ''
        click.echo(f'StructureMatcher (H stripped): {"match" if comparison["match"] else "no match"}{rms}; '
                   f'powder XRD similarity {comparison["xrd_similarity"]:.3f}')
        for side in ('predicted', 'reference'):
            click.echo(f'{side}: {arrangement_line(comparison["arrangement"][side], comparison["bridges"][side])}')
