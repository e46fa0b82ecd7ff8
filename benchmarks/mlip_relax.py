"""Each offline MLIP, with and without D3, relaxes given cells at 0 K: per-metal figures against the input cell.

    python benchmarks/mlip_relax.py CIF [CIF ...] [--potentials chgnet chgnet+d3 sevennet sevennet+d3]
        [--fmax 0.05] [--stress-tolerance 0.05] [--max-steps 1000] [--work DIR]

Each CIF is decomposed (:func:`aiida_perovskite.structure.decompose.inspect_cif`) to find its stacking axis,
metals and slabs, relaxed with the engine's two stages (1 GPa, then 0 GPa; ``aiida_perovskite.mlip``), and the
relaxed cell is compared with the input cell by the project's per-metal analysis
(:mod:`aiida_perovskite.analysis.validation`: volume per B, in-plane area per B, layer spacing) plus the
octahedra check. The deviations are against the INPUT cell: for an experimental CIF that is experiment,
for a built cell (``aiida-perovskite build``) it is the builder's geometry, not experiment.
"""

from __future__ import annotations

import argparse
import pathlib
import tempfile
import time

from aiida_perovskite.analysis.features import stacking_index
from aiida_perovskite.analysis.validation import (
    cell_figures,
    compare_cells,
    metal_and_halide_elements,
    octahedra_check,
    summary_line,
)
from aiida_perovskite.mlip import load_potential, run_stages, validate_settings
from aiida_perovskite.structure.decompose import inspect_cif


def relax_and_compare(path: pathlib.Path, name: str, settings: dict, work: pathlib.Path) -> dict:
    from pymatgen.io.ase import AseAtomsAdaptor

    decomposition = inspect_cif(path)
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
    simulated = cell_figures(final.cell.array, stacking, metals, record['n_slabs'], record['n_layers'])
    deviations = summary_line(compare_cells(simulated, reference, stacking, same_cell=True))
    octahedra = octahedra_check(list(final.get_chemical_symbols()), final.positions, final.cell.array,
                                metal_elements, halides)
    steps = sum(stage['steps_this_run'] for stage in result['stages'])
    return {
        'cif': path.name, 'potential': name, 'atoms': len(final), 'status': result['status'],
        'steps': steps, 'seconds': time.perf_counter() - started, 'deviations': deviations,
        'octahedra_share': octahedra['share'], 'volume_per_metal': simulated['volume_per_metal'],
        'reference_volume_per_metal': reference['volume_per_metal'],
        'max_stress_gpa': result['stages'][-1]['max_stress_gpa'],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('cifs', nargs='+', type=pathlib.Path)
    parser.add_argument('--potentials', nargs='+', default=['chgnet', 'chgnet+d3', 'sevennet', 'sevennet+d3'])
    parser.add_argument('--fmax', type=float, default=0.05)
    parser.add_argument('--stress-tolerance', type=float, default=0.05)
    parser.add_argument('--max-steps', type=int, default=1000)
    parser.add_argument('--work', type=pathlib.Path, default=None, help='keep the trajectories here')
    args = parser.parse_args(argv)
    settings = {'fmax': args.fmax, 'stress_tolerance_gpa': args.stress_tolerance, 'max_steps': args.max_steps}
    work = args.work or pathlib.Path(tempfile.mkdtemp(prefix='mlip-relax-'))
    print(f'{"cell":24s} {"potential":12s} {"atoms":>5s} {"status":13s} {"steps":>5s} {"s/step":>6s} '
          f'{"V/B (A^3)":>10s} {"volume":>7s} {"area":>7s} {"spacing":>7s} {"oct.":>5s}  (deviations vs the input cell)')
    for path in args.cifs:
        for name in args.potentials:
            row = relax_and_compare(path, name, settings, work)
            d = row['deviations']
            per_step = row['seconds'] / row['steps'] if row['steps'] else float('nan')
            print(f'{row["cif"]:24s} {name:12s} {row["atoms"]:5d} {row["status"]:13s} {row["steps"]:5d} '
                  f'{per_step:6.2f} {row["volume_per_metal"]:10.1f} {d["volume"]:+6.1f}% {d["in_plane"]:+6.1f}% '
                  f'{d["stacking"]:+6.1f}% {row["octahedra_share"]:5.2f}', flush=True)
    print(f'trajectories in {work}')


if __name__ == '__main__':
    main()
