"""What a GPU changes for the MLIP engine: cost per force call and per candidate relaxation, CPU against GPU.

    python benchmarks/mlip_device.py prepare OUTDIR            # here: the cells, as extended XYZ
    python benchmarks/mlip_device.py run OUTDIR [--devices cpu cuda] [--potentials ...] [--relax-cells ...]
        [--cells BA ...] [--concurrent 1 4 8] [--out results.json]

``prepare`` (needs the project's whole stack) writes the builder's cells of (BA)2PbI4 and (PEA)2PbI4
(``aiida-perovskite build --name BA|PEA``, 78 and 94 atoms: the size of one search candidate) and
in-plane supercells of the BA cell (2x2x1 and 3x3x1) for the scaling with the number of atoms.

``run`` needs only ASE, torch and the potentials' packages (no AiiDA, no pymatgen beyond what the
potentials import), so that it runs on a bare GPU machine. Per device, potential and cell:

- the force call: median wall time of ten energy + forces + stress evaluations after two warm-ups (the
  first call also builds the graph and, on a GPU, compiles kernels);
- the candidate: the engine's own two-stage relaxation (:func:`aiida_perovskite.mlip.run_stages` with
  :data:`aiida_perovskite.mlip.DEFAULTS`: 1 GPa then 0 GPa, FIRE, fmax 0.05 eV/A, 0.05 GPa), the same
  code a ``MlipCalculation`` runs: wall time, steps, seconds per step, energy per atom;
- with ``--concurrent N``: N processes relax the same candidate at once on the device (what the daemon
  does when a search submits many ``MlipCalculation`` to one GPU node): candidates per hour.

CPU runs use every core torch sees (``torch.get_num_threads()``, printed). Why: the structure-search
issue asks what a GPU changes for the MLIP stage; the cost per candidate decides how many candidates a
search can afford (the paper relaxes hundreds to thousands per spacer).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import pathlib
import statistics
import sys
import tempfile
import time

POTENTIALS = ['chgnet', 'chgnet+d3', 'sevennet', 'sevennet+d3']
CELLS = {'BA': 'CCCCN', 'PEA': 'NCCc1ccccc1'}
SUPERCELLS = {'BA-2x2': (2, 2, 1), 'BA-3x3': (3, 3, 1)}


def prepare(folder: pathlib.Path) -> None:
    from pymatgen.io.ase import AseAtomsAdaptor

    from aiida_perovskite.builder.builder import build_perovskite

    folder.mkdir(parents=True, exist_ok=True)
    cells = {name: AseAtomsAdaptor.get_atoms(build_perovskite(smiles, phase='RP').structure)
             for name, smiles in CELLS.items()}
    cells.update({name: cells['BA'].repeat(repeat) for name, repeat in SUPERCELLS.items()})
    for name, atoms in cells.items():
        atoms.write(str(folder / f'{name}.extxyz'), format='extxyz')
        print(f'{name}: {len(atoms)} atoms', flush=True)


def force_call(atoms, calculator, repeats: int = 10) -> float:
    """Median seconds of one energy + forces + stress evaluation (two warm-ups first)."""
    atoms = atoms.copy()
    atoms.calc = calculator
    times = []
    for index in range(repeats + 2):
        atoms.rattle(stdev=1e-3, seed=index)  # a new configuration: no cached result
        tick = time.perf_counter()
        atoms.get_potential_energy()
        atoms.get_forces()
        atoms.get_stress()
        times.append(time.perf_counter() - tick)
    return statistics.median(times[2:])


def relax(path: pathlib.Path, potential: str, device: str) -> dict:
    """The engine's two-stage relaxation of one cell, in a fresh folder."""
    import ase.io

    from aiida_perovskite.mlip import load_potential, run_stages, validate_settings

    settings = validate_settings({'potential': potential, 'device': device})
    tick = time.perf_counter()
    calculator, record = load_potential(potential, settings['dispersion'], device)
    loading = time.perf_counter() - tick
    with tempfile.TemporaryDirectory() as work:
        result = run_stages(ase.io.read(str(path), format='extxyz'), settings, pathlib.Path(work), calculator,
                            record, log=None)
    atoms = result['atoms']
    steps = sum(stage['steps_this_run'] for stage in result['stages'])
    return {'status': result['status'], 'steps': steps, 'seconds': result['seconds'], 'load_seconds': loading,
            'seconds_per_step': result['seconds'] / max(steps, 1),
            'energy_per_atom_ev': float(atoms.get_potential_energy()) / len(atoms),
            'volume_change': float(atoms.get_volume() / result['input_volume_a3'] - 1)}


def _relax_worker(arguments):
    path, potential, device = arguments
    import torch

    torch.set_num_threads(1)
    return relax(pathlib.Path(path), potential, device)


def run(folder: pathlib.Path, devices: list[str], potentials: list[str], cells: list[str] | None,
        relax_cells: list[str], concurrent: list[int], out: pathlib.Path | None) -> dict:
    import ase.io
    import torch

    from aiida_perovskite.mlip import load_potential

    paths = {path.stem: path for path in sorted(folder.glob('*.extxyz'))}
    results = {'threads': torch.get_num_threads(), 'torch': torch.__version__, 'force_call': [], 'relax': [],
               'concurrent': []}
    if torch.cuda.is_available():
        results['gpu'] = torch.cuda.get_device_name(0)
    print(f'torch {torch.__version__}, {results["threads"]} CPU threads, GPU: {results.get("gpu", "none")}',
          flush=True)

    def save():
        if out:
            out.write_text(json.dumps(results, indent=1))

    for device in devices:
        for potential in potentials:
            try:
                calculator, _ = load_potential(potential, None, device)
            except Exception as error:  # noqa: BLE001  (report one line, go on with the others)
                print(f'{device} {potential}: cannot load: {type(error).__name__}: {error}', flush=True)
                continue
            for name in cells or paths:
                path = paths[name]
                atoms = ase.io.read(str(path), format='extxyz')
                try:
                    seconds = force_call(atoms, calculator)
                except Exception as error:  # noqa: BLE001
                    print(f'{device} {potential} {name}: force call failed: {type(error).__name__}: {error}',
                          flush=True)
                    continue
                row = {'device': device, 'potential': potential, 'cell': name, 'atoms': len(atoms), 'seconds': seconds}
                results['force_call'].append(row)
                print(f'force call  {device:4s} {potential:12s} {name:7s} {len(atoms):5d} atoms  {seconds * 1e3:8.1f} ms',
                      flush=True)
                save()
            for name in relax_cells:
                try:
                    row = {'device': device, 'potential': potential, 'cell': name,
                           **relax(paths[name], potential, device)}
                except Exception as error:  # noqa: BLE001
                    print(f'{device} {potential} {name}: relaxation failed: {type(error).__name__}: {error}',
                          flush=True)
                    continue
                results['relax'].append(row)
                print(f'relax       {device:4s} {potential:12s} {name:7s} {row["status"]:13s} {row["steps"]:4d} steps '
                      f'{row["seconds"]:7.1f} s ({row["seconds_per_step"] * 1e3:.0f} ms/step, load '
                      f'{row["load_seconds"]:.1f} s), {row["energy_per_atom_ev"]:.4f} eV/atom, '
                      f'volume {row["volume_change"]:+.1%}', flush=True)
                save()
    for count in concurrent:
        device = devices[-1]
        potential, name = potentials[0], relax_cells[0]
        tick = time.perf_counter()
        with multiprocessing.get_context('spawn').Pool(count) as pool:
            rows = pool.map(_relax_worker, [(str(paths[name]), potential, device)] * count)
        wall = time.perf_counter() - tick
        row = {'device': device, 'potential': potential, 'cell': name, 'processes': count, 'wall': wall,
               'candidates_per_hour': 3600 * count / wall, 'steps': [r['steps'] for r in rows]}
        results['concurrent'].append(row)
        print(f'concurrent  {device:4s} {potential:12s} {name:7s} {count:2d} processes: {wall:7.1f} s, '
              f'{row["candidates_per_hour"]:.0f} candidates/h', flush=True)
        save()
    save()
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    command = commands.add_parser('prepare')
    command.add_argument('folder', type=pathlib.Path)
    command = commands.add_parser('run')
    command.add_argument('folder', type=pathlib.Path)
    command.add_argument('--devices', nargs='+', default=['cpu'], choices=['cpu', 'cuda'])
    command.add_argument('--potentials', nargs='+', default=POTENTIALS)
    command.add_argument('--cells', nargs='*', help='cells of the force-call timing (default: all in the folder)')
    command.add_argument('--relax-cells', nargs='*', default=['BA', 'PEA'])
    command.add_argument('--concurrent', nargs='*', type=int, default=[])
    command.add_argument('--out', type=pathlib.Path)
    args = parser.parse_args(argv)
    if args.command == 'prepare':
        prepare(args.folder)
    else:
        run(args.folder, args.devices, args.potentials, args.cells, args.relax_cells, args.concurrent, args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
