"""Each offline MLIP, with and without D3, relaxes given cells at 0 K: per-metal figures against the input cell.

    python benchmarks/mlip_relax.py CIF [CIF ...] [--potentials chgnet chgnet+d3 sevennet sevennet+d3]
        [--fmax 0.05] [--stress-tolerance 0.05] [--max-steps 1000] [--work DIR]
    python benchmarks/mlip_relax.py --preset BA2PbI4 PEA2PbI4 [--potentials ...]
    python benchmarks/mlip_relax.py --spacer SMILES [--phase RP] --lattice A B C [ALPHA BETA GAMMA] --metals 4 --slabs 2

With ``--preset`` or ``--lattice`` the start is the builder's cell of the spacer
(:func:`aiida_perovskite.builder.builder.build_perovskite`, default settings) with its lattice set to the
experimental one (:func:`experimental_start`: in-plane edges and angle, and the perpendicular layer
spacing, from experiment; the builder's stacking offset and every atom's scaled position kept), and the
relaxed cell is compared with each experimental cell of the preset (per metal: volume, in-plane area,
layer spacing). Presets: ``BA2PbI4`` (start: Mitzi's room-temperature Pbca cell; references: that cell and
the low-temperature cell of ``benchmarks/forcefield_fidelity.py`` ``EXPERIMENT``), ``PEA2PbI4`` (Du et
al.'s P-1 cell at 298 K, the ``structure_search.py`` preset; ``EXPERIMENT`` lists it rounded).

Each CIF is decomposed (:func:`aiida_perovskite.structure.decompose.inspect_cif`, with ``--disorder`` and
``--hydrogens`` as in the CLI) to find its stacking axis,
metals and slabs, relaxed with the engine's two stages (1 GPa, then 0 GPa; ``aiida_perovskite.mlip``), and the
relaxed cell is compared with the input cell by the project's per-metal analysis
(:mod:`aiida_perovskite.analysis.validation`: volume per B, in-plane area per B, layer spacing) plus the
octahedra check. The deviations are against the INPUT cell: for an experimental CIF that is experiment,
for a built cell (``aiida-perovskite build``) it is the builder's geometry, not experiment.
"""

from __future__ import annotations

import argparse
import math
import pathlib
import sys
import tempfile
import time

import numpy as np

from aiida_perovskite.analysis.features import stacking_index
from aiida_perovskite.analysis.validation import (
    cell_figures,
    compare_cells,
    metal_and_halide_elements,
    octahedra_check,
    octahedron_cutoffs,
    summary_line,
)
from aiida_perovskite.mlip import load_potential, run_stages, validate_settings
from aiida_perovskite.structure.decompose import inspect_cif


def relax_and_compare(path: pathlib.Path, name: str, settings: dict, work: pathlib.Path,
                      reading: dict | None = None) -> dict:
    from pymatgen.io.ase import AseAtomsAdaptor

    decomposition = inspect_cif(path, **(reading or {}))
    record = decomposition.as_dict()
    structure = decomposition.structure
    symbols = [site.specie.symbol for site in structure]
    lattice = structure.lattice.matrix
    stacking = stacking_index(record['miller_index'], lattice)
    metal_elements, halides = metal_and_halide_elements(record, symbols)
    metals = sum(symbol in metal_elements for symbol in symbols)
    reference = cell_figures(lattice, stacking, metals, record['n_slabs'], record['n_layers'])

    calculator, potential = load_potential(name)
    folder = work / f'{path.stem}-{name}'
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = run_stages(AseAtomsAdaptor.get_atoms(structure), validate_settings({**settings, 'potential': name}),
                        folder, calculator, potential)
    final = result['atoms']
    final.write(str(folder / 'relaxed.extxyz'))
    simulated = cell_figures(final.cell.array, stacking, metals, record['n_slabs'], record['n_layers'])
    deviations = summary_line(compare_cells(simulated, reference, stacking, same_cell=True))
    cutoffs = octahedron_cutoffs(symbols, structure.cart_coords, lattice, metal_elements, halides)  # the input's bonds
    octahedra = octahedra_check(list(final.get_chemical_symbols()), final.positions, final.cell.array,
                                metal_elements, halides, cutoffs)
    steps = sum(stage['steps_this_run'] for stage in result['stages'])
    return {
        'cif': path.name, 'potential': name, 'atoms': len(final), 'status': result['status'],
        'steps': steps, 'seconds': time.perf_counter() - started, 'deviations': deviations,
        'octahedra_share': octahedra['share'], 'volume_per_metal': simulated['volume_per_metal'],
        'energy_per_metal': final.get_potential_energy() / metals,
        'reference_volume_per_metal': reference['volume_per_metal'],
        'max_stress_gpa': result['stages'][-1]['max_stress_gpa'],
    }


HERE = pathlib.Path(__file__).resolve().parent


def presets() -> dict:
    """Spacer, start lattice and experimental references of each preset (from the other benchmarks' tables)."""
    sys.path.insert(0, str(HERE))
    from forcefield_fidelity import EXPERIMENT
    from structure_search import PRESETS

    def from_experiment(key):
        cell = EXPERIMENT[key]
        return {'lattice': [cell[k] for k in ('a', 'b', 'c', 'alpha', 'beta', 'gamma')], 'metals': cell['metals'],
                'slabs': cell['slabs'], 'source': cell['source'] + f' ({cell["temperature"]:.0f} K)'}

    return {
        'BA2PbI4': {'smiles': 'CCCCN', 'phase': 'RP', 'references': {
            'RT Pbca': PRESETS['BA2PbI4'], 'LT': from_experiment('BA-PbI4')}},
        'PEA2PbI4': {'smiles': 'NCCc1ccccc1', 'phase': 'RP', 'references': {'P-1 298 K': PRESETS['PEA2PbI4']}},
    }


def lattice_figures(parameters, metals: int, slabs: int) -> dict:
    """Per-metal figures of a cell from its constants (the longest vector crosses the layers)."""
    from aiida_perovskite.analysis.validation import cell_figures, reference_from_parameters

    matrix = reference_from_parameters(*parameters)
    return cell_figures(matrix, int(np.argmax(np.linalg.norm(matrix, axis=1))), metals, slabs)


def experimental_start(structure, parameters, metals: int, slabs: int, stacking: int = 2):
    """``structure`` (one slab per cell along lattice vector ``stacking``) with the experimental lattice.

    The in-plane vectors get the experimental edges and angle, in the same order (the built
    sqrt(2) x sqrt(2) cell and the experimental one both hold the same metals per layer, checked), the
    stacking vector the experimental layer spacing as its height, and keeps its in-plane offset in
    units of the in-plane vectors; every atom keeps its scaled position. The per-metal volume, in-plane
    area and layer spacing of the result are the experimental ones.
    """
    from pymatgen.core import Lattice, Structure

    reference = lattice_figures(parameters, metals, slabs)
    built = structure.lattice.matrix
    i, j = (axis for axis in range(3) if axis != stacking)
    built_metals = sum(site.specie.symbol in ('Pb', 'Sn', 'Ge') for site in structure)
    if built_metals != metals // slabs:
        raise ValueError(f'the built cell holds {built_metals} metals per layer, the experimental one '
                         f'{metals // slabs}: no common in-plane cell')
    if int(np.argmax(parameters[:3])) != 2:
        raise ValueError(f'the experimental cell {parameters} must stack along c (its longest edge)')
    a, b, gamma = parameters[0], parameters[1], math.radians(parameters[5])  # experimental a, b in the plane
    # the in-plane offset of the stacking vector in units of the built in-plane vectors
    normal = np.cross(built[i], built[j])
    normal /= np.linalg.norm(normal)
    shift = built[stacking] - (built[stacking] @ normal) * normal
    fractions = np.linalg.lstsq(np.array([built[i], built[j]]).T, shift, rcond=None)[0]
    matrix = np.zeros((3, 3))
    matrix[i] = [a, 0.0, 0.0]
    matrix[j] = [b * math.cos(gamma), b * math.sin(gamma), 0.0]
    matrix[stacking] = fractions[0] * matrix[i] + fractions[1] * matrix[j] + [0.0, 0.0, reference['layer_spacing']]
    return Structure(Lattice(matrix), structure.species, structure.frac_coords)


def relax_from_lattice(smiles: str, phase: str, start: dict, references: dict, name: str, settings: dict,
                       work: pathlib.Path, label: str) -> dict:
    """Relax the builder's cell of ``smiles`` set to the ``start`` lattice; per-metal deviations per reference."""
    from pymatgen.io.ase import AseAtomsAdaptor

    from aiida_perovskite.builder.builder import build_perovskite

    built = build_perovskite(smiles, phase=phase).structure
    structure = experimental_start(built, start['lattice'], start['metals'], start['slabs'])
    symbols = [site.specie.symbol for site in structure]
    metals = sum(symbol in ('Pb', 'Sn', 'Ge') for symbol in symbols)
    calculator, potential = load_potential(name)
    folder = work / f'{label}-{name}'
    folder.mkdir(parents=True, exist_ok=True)
    structure.to(filename=str(folder / 'start.cif'))
    started = time.perf_counter()
    result = run_stages(AseAtomsAdaptor.get_atoms(structure), validate_settings({**settings, 'potential': name}),
                        folder, calculator, potential)
    final = result['atoms']
    final.write(str(folder / 'relaxed.extxyz'))
    simulated = cell_figures(final.cell.array, 2, metals, 1)
    deviations = {}
    for key, reference in references.items():
        figures = lattice_figures(reference['lattice'], reference['metals'], reference['slabs'])
        deviations[key] = summary_line(compare_cells(simulated, figures, 2, same_cell=False))
    cutoffs = octahedron_cutoffs(symbols, structure.cart_coords, structure.lattice.matrix, ['Pb', 'Sn', 'Ge'],
                                 ['I', 'Br', 'Cl'])  # the starting cell's bonds
    octahedra = octahedra_check(list(final.get_chemical_symbols()), final.positions, final.cell.array,
                                ['Pb', 'Sn', 'Ge'], ['I', 'Br', 'Cl'], cutoffs)
    steps = sum(stage['steps_this_run'] for stage in result['stages'])
    return {'cif': label, 'potential': name, 'atoms': len(final), 'status': result['status'], 'steps': steps,
            'seconds': time.perf_counter() - started, 'deviations': deviations, 'simulated': simulated,
            'octahedra_share': octahedra['share'], 'max_stress_gpa': result['stages'][-1]['max_stress_gpa']}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('cifs', nargs='*', type=pathlib.Path)
    parser.add_argument('--preset', nargs='+', choices=['BA2PbI4', 'PEA2PbI4'], default=[],
                        help='the builder\'s cell of the compound on its experimental lattice, against experiment')
    parser.add_argument('--spacer', help='with --lattice: the spacer SMILES of the built cell')
    parser.add_argument('--phase', default='RP', choices=['RP', 'DJ'])
    parser.add_argument('--lattice', type=float, nargs='+', metavar='X', help='A B C [ALPHA BETA GAMMA] of experiment')
    parser.add_argument('--metals', type=int, help='metal atoms in the --lattice cell')
    parser.add_argument('--slabs', type=int, help='inorganic slabs in the --lattice cell')
    parser.add_argument('--potentials', nargs='+', default=['chgnet', 'chgnet+d3', 'sevennet', 'sevennet+d3'])
    parser.add_argument('--fmax', type=float, default=0.05)
    parser.add_argument('--stress-tolerance', type=float, default=0.05)
    parser.add_argument('--max-steps', type=int, default=1000)
    parser.add_argument('--work', type=pathlib.Path, default=None, help='keep the trajectories here')
    parser.add_argument('--disorder', choices=['refuse', 'major'], default='refuse',
                        help='CIFs: how the reader treats partly occupied sites (as the CLI\'s --disorder)')
    parser.add_argument('--hydrogens', choices=['require', 'add'], default='require',
                        help='CIFs: complete missing hydrogens (as the CLI\'s --hydrogens)')
    args = parser.parse_args(argv)
    jobs = []
    table = presets()
    for key in args.preset:
        entry = table[key]
        jobs.append((key, entry['smiles'], entry['phase'], next(iter(entry['references'].values())),
                     entry['references']))
    if args.lattice:
        if not (args.spacer and args.metals and args.slabs):
            parser.error('--lattice needs --spacer, --metals and --slabs')
        lattice = args.lattice if len(args.lattice) == 6 else [*args.lattice, 90.0, 90.0, 90.0]
        if len(lattice) != 6:
            parser.error('--lattice: give A B C or A B C ALPHA BETA GAMMA')
        start = {'lattice': lattice, 'metals': args.metals, 'slabs': args.slabs}
        jobs.append((args.spacer, args.spacer, args.phase, start, {'given': start}))
    if not (args.cifs or jobs):
        parser.error('give CIFs, --preset or --lattice')
    settings = {'fmax': args.fmax, 'stress_tolerance_gpa': args.stress_tolerance, 'max_steps': args.max_steps}
    work = args.work or pathlib.Path(tempfile.mkdtemp(prefix='mlip-relax-'))
    if args.cifs:
        print(f'{"cell":24s} {"potential":12s} {"atoms":>5s} {"status":13s} {"steps":>5s} {"s/step":>6s} '
              f'{"V/B (A^3)":>10s} {"volume":>7s} {"area":>7s} {"spacing":>7s} {"oct.":>5s} {"E/B (eV)":>10s}  '
              '(deviations vs the input cell; E/B: energy per metal, to rank polymorphs of one compound)')
    for path in args.cifs:
        for name in args.potentials:
            row = relax_and_compare(path, name, settings, work,
                                    {'disorder': args.disorder, 'hydrogens': args.hydrogens})
            d = row['deviations']
            per_step = row['seconds'] / row['steps'] if row['steps'] else float('nan')
            print(f'{row["cif"]:24s} {name:12s} {row["atoms"]:5d} {row["status"]:13s} {row["steps"]:5d} '
                  f'{per_step:6.2f} {row["volume_per_metal"]:10.1f} {d["volume"]:+6.1f}% {d["in_plane"]:+6.1f}% '
                  f'{d["stacking"]:+6.1f}% {row["octahedra_share"]:5.2f} {row["energy_per_metal"]:10.4f}', flush=True)
    if jobs:
        print('builder\'s cell on the experimental lattice (scaled positions kept), relaxed; deviations of the '
              'relaxed per-metal figures against each experimental cell')
        print(f'{"compound":12s} {"potential":12s} {"atoms":>5s} {"status":13s} {"steps":>5s} {"s/step":>6s} '
              f'{"V/B (A^3)":>10s} {"A/B (A^2)":>9s} {"d (A)":>6s} {"oct.":>5s}  reference: volume area spacing')
    for label, smiles, phase, start, references in jobs:
        for key, reference in references.items():
            figures = lattice_figures(reference['lattice'], reference['metals'], reference['slabs'])
            print(f'# {label} {key}: {figures["volume_per_metal"]:.1f} A^3, {figures["in_plane_area_per_metal"]:.2f} '
                  f'A^2 per metal, {figures["layer_spacing"]:.3f} A ({reference["source"]})', flush=True)
        for name in args.potentials:
            row = relax_from_lattice(smiles, phase, start, references, name, settings, work, label)
            s = row['simulated']
            per_step = row['seconds'] / row['steps'] if row['steps'] else float('nan')
            against = '; '.join(f'{key}: {d["volume"]:+5.1f}% {d["in_plane"]:+5.1f}% {d["stacking"]:+5.1f}%'
                                for key, d in row['deviations'].items())
            print(f'{label:12s} {name:12s} {row["atoms"]:5d} {row["status"]:13s} {row["steps"]:5d} {per_step:6.2f} '
                  f'{s["volume_per_metal"]:10.1f} {s["in_plane_area_per_metal"]:9.2f} {s["layer_spacing"]:6.2f} '
                  f'{row["octahedra_share"]:5.2f}  {against}', flush=True)
    print(f'trajectories in {work}')


if __name__ == '__main__':
    main()
