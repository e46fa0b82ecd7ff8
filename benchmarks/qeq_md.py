"""NPT MD of a 2D Cs2PbI4 supercell with a trained QEq potential (issue 18): stability, lattice, cost.

    OMP_NUM_THREADS=1 python benchmarks/qeq_md.py MODEL_DIR [MODEL_DIR ...] [--supercell I J K] [--ps 20]
        [--timestep 4] [--temperature 300] [--work DIR] [--xtb-cost] [--json FILE]

MODEL_DIR is a saved model (``benchmarks/qeq_potential.py --save DIR`` writes DIR/qeq and DIR/short-range, or
``aiida-perovskite potential train`` through its node's files). For each model:

1. The 0 K cell: the ideal Cs2PbI4 conventional cell (14 atoms) relaxed with the model, positions and cell free
   (the product's MLIP driver, ``aiida_perovskite.mlip.relax``), started from the cell relaxed with the
   reference, GFN1-xTB on its 2x2x1 replica (56 atoms, the size-converged labelling of the training set), and
   compared with it.
2. NPT at ``--temperature`` for ``--ps`` picoseconds (ASE's anisotropic Berendsen barostat, the driver's NPT
   stage) of the ``--supercell`` replica of the xTB-relaxed cell (by default the smallest in-plane one with at
   least 300 atoms: 5 5 1 of the 14-atom cell, 3 2 1 of a 56-atom 2x2x1 one): per frame the octahedra intact
   (six I within 1.25 times the starting Pb-I bond), a and c per conventional cell and the potential energy;
   over the second half their means, and the drift of volume and energy (least-squares slope over the second
   half, per picosecond) against their own fluctuation.
3. Cost: seconds per MD step with the model, and one GFN1-xTB force call on the same supercell (``--xtb-cost``;
   minutes on one core), or on its 56- and 112-atom parts to show the scaling.

The MD runs through the driver's restartable stages in ``--work`` (rerun the same command to continue an
interrupted run). Every number is printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np


def xtb_relaxed(work: pathlib.Path, settings: dict, given: pathlib.Path | None = None):
    """The ideal Cs2PbI4 cell relaxed with GFN1-xTB on its ``replicate`` supercell (cached in ``work``), or the
    relaxed cell ``given`` (``benchmarks/qeq_potential.py`` caches its own in its ``--labels`` folder)."""
    from aiida_perovskite.mlip import sampling, xtb

    if given is not None:
        return xtb.read(given)[0], {'steps': None, 'seconds': None, 'file': str(given)}
    cached = work / 'xtb-relaxed.extxyz'
    if cached.is_file():
        return xtb.read(cached)[0], json.loads((work / 'xtb-relaxed.json').read_text())
    relaxed, record = xtb.relaxed(sampling.ruddlesden_popper(1), settings)
    xtb.write(cached, [relaxed])
    (work / 'xtb-relaxed.json').write_text(json.dumps(record))
    return relaxed, record


def lattice(atoms, repeat=(1, 1, 1)) -> dict:
    """a, b, c (A) and volume (A^3) per ideal conventional cell (14 atoms) of ``atoms``, a ``repeat`` of it."""
    lengths = atoms.cell.lengths() / np.asarray(repeat)
    return {'a': float(lengths[0]), 'b': float(lengths[1]), 'c': float(lengths[2]),
            'volume': float(atoms.get_volume() / np.prod(repeat))}


def octahedra(frame, cutoff) -> dict:
    from aiida_perovskite.analysis.validation import octahedra_check

    return octahedra_check(frame.get_chemical_symbols(), frame.positions, frame.cell.array, ['Pb'], ['I'],
                           cutoff=cutoff)


def base_repeat(atoms) -> np.ndarray:
    """How many ideal 14-atom cells ``atoms`` (the xTB-relaxed cell) spans along each axis: 2 2 1 when the
    relaxation broke the ideal cell's symmetry and returned its supercell."""
    return np.asarray(atoms.info.get('origin', {}).get('supercell', [1, 1, 1]))


def smallest_supercell(n_atoms: int, at_least: int) -> list[int]:
    """The in-plane repeat (i, j, 1), i - j at most 1, with the fewest copies that reach ``at_least`` atoms."""
    for copies in range(1, 1000):
        for j in range(1, copies + 1):
            i = copies // j
            if i * j == copies and 0 <= i - j <= 1 and n_atoms * copies >= at_least:
                return [i, j, 1]
    raise ValueError(f'no supercell of {n_atoms} atoms reaches {at_least}')


def drift(times, values) -> tuple[float, float]:
    """Least-squares slope per ps over the second half, and the values' standard deviation there."""
    half = len(times) // 2
    slope = np.polyfit(times[half:], values[half:], 1)[0]
    return float(slope), float(np.std(values[half:]))


def run_model(folder: pathlib.Path, args, start, work: pathlib.Path) -> dict:
    """The 0 K relaxation and the NPT run of one model, both started from ``start`` (the xTB-relaxed cell)."""
    from aiida_perovskite.analysis.validation import octahedron_cutoffs
    from aiida_perovskite.mlip import relax
    from aiida_perovskite.mlip.potentials import QEQ_PREFIX, load_potential

    name = f'{QEQ_PREFIX}{folder.resolve()}'
    calculator, record = load_potential(name)
    # Two saved models are often DIR1/qeq and DIR2/qeq: the work folder names the parent too, so that one model's
    # run never resumes another's.
    tag = f'{folder.parent.name}-{folder.name}'
    result = {'model': str(folder), 'potential': record}

    # 1. 0 K cell with the model
    settings = relax.validate_settings({'potential': name, 'stages': [{'name': 'relax', 'kind': 'relax'}],
                                        'fmax': 0.02, 'stress_tolerance_gpa': 0.02, 'max_steps': 500})
    (work / tag / '0K').mkdir(parents=True, exist_ok=True)
    base = base_repeat(start)
    reference = lattice(start, base)
    zero = relax.run_stages(start, settings, work / tag / '0K', calculator, record)
    result['relaxed'] = {'status': zero['status'], **lattice(zero['atoms'], base)}

    # 2. NPT of the supercell
    supercell = args.supercell or smallest_supercell(len(start), 300)
    cell = start.repeat(supercell)
    steps = int(round(args.ps * 1000 / args.timestep))
    interval = max(1, int(round(args.frame_fs / args.timestep)))
    settings = relax.validate_settings({'potential': name, 'max_volume_change': 0.3, 'stages': [
        {'name': 'npt', 'kind': 'npt', 'temperature_k': args.temperature, 'steps': steps,
         'timestep_fs': args.timestep, 'interval': interval, 'seed': args.seed}]})
    folder_md = work / tag / f'npt-{"x".join(map(str, supercell))}-{args.temperature:g}K'
    folder_md.mkdir(parents=True, exist_ok=True)

    with open(folder_md / 'md.log', 'a') as log:
        md = relax.run_stages(cell, settings, folder_md, calculator, record, log=log)
    # Seconds and steps of every run into this folder (a restarted run adds its own).
    timing_file = folder_md / 'timing.json'
    timing = json.loads(timing_file.read_text()) if timing_file.is_file() else []
    if md['steps_this_run']:
        timing.append({'steps': md['steps_this_run'], 'seconds': md['seconds']})
        timing_file.write_text(json.dumps(timing))
    steps_timed = sum(row['steps'] for row in timing)
    frames = relax.read_frames(folder_md / 'npt.traj')
    cutoff = octahedron_cutoffs(cell.get_chemical_symbols(), cell.positions, cell.cell.array, ['Pb'], ['I'])
    times = np.arange(len(frames)) * interval * args.timestep / 1000.0
    checks = [octahedra(frame, cutoff) for frame in frames]
    intact = np.array([check['intact'] for check in checks])
    lattices = [lattice(frame, base * supercell) for frame in frames]
    energy = np.array([frame.get_potential_energy() / len(frame) for frame in frames])
    half = len(frames) // 2
    mean = {key: float(np.mean([row[key] for row in lattices[half:]])) for key in ('a', 'b', 'c', 'volume')}
    volume_slope, volume_std = drift(times, [row['volume'] for row in lattices])
    energy_slope, energy_std = drift(times, energy)
    result['md'] = {
        'status': md['status'], 'broken': md['broken'], 'atoms': len(cell), 'ps_done': float(times[-1]),
        'steps': steps, 'timestep_fs': args.timestep, 'temperature_k': args.temperature,
        'octahedra': {'metals': checks[0]['metals'], 'min': int(intact.min()), 'last': int(intact[-1]),
                      'mean_second_half': float(intact[half:].mean())},
        'mean_second_half': mean,
        'against_xtb_relaxed_pct': {key: 100 * (mean[key] / reference[key] - 1) for key in ('a', 'b', 'c', 'volume')},
        'volume_drift_a3_per_ps': volume_slope, 'volume_std_a3': volume_std,
        'energy_drift_ev_atom_per_ps': energy_slope, 'energy_std_ev_atom': energy_std,
        'seconds_per_step': sum(row['seconds'] for row in timing) / steps_timed if steps_timed else None,
    }
    return result


def xtb_cost(supercell, settings, full: bool) -> list[dict]:
    """Seconds of one GFN1-xTB call (Gamma) on rattled 56- and 112-atom Cs2PbI4 cells, and with ``full`` on
    ``supercell`` (the MD's cell)."""
    from aiida_perovskite.mlip import sampling, xtb

    base = sampling.ruddlesden_popper(1)
    repeats = [(2, 2, 1), (2, 2, 2)]
    rows = []
    for repeat in repeats + ([None] if full else []):
        atoms = sampling.rattled(base.repeat(repeat) if repeat else supercell, 300.0, seed=1)
        started = time.perf_counter()
        xtb.label(atoms, {**settings, 'replicate': [1, 1, 1]})
        rows.append({'atoms': len(atoms), 'seconds': time.perf_counter() - started})
        print(f'GFN1-xTB force call, {len(atoms)} atoms: {rows[-1]["seconds"]:.1f} s', flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('models', nargs='+', type=pathlib.Path)
    parser.add_argument('--supercell', type=int, nargs=3,
                        help='of the xTB-relaxed cell (default: the smallest in-plane repeat with at least 300 atoms)')
    parser.add_argument('--ps', type=float, default=20.0)
    parser.add_argument('--timestep', type=float, default=4.0, help='fs (Cs, Pb and I only: no hydrogen)')
    parser.add_argument('--frame-fs', type=float, default=100.0, help='fs between two analysed frames')
    parser.add_argument('--temperature', type=float, default=300.0)
    parser.add_argument('--seed', type=int, default=12345)
    parser.add_argument('--work', type=pathlib.Path, default=pathlib.Path('qeq-md'))
    parser.add_argument('--relaxed', type=pathlib.Path,
                        help='the GFN1-xTB-relaxed Cs2PbI4 cell (extended XYZ) instead of relaxing it here (5 minutes)')
    parser.add_argument('--xtb-cost', action='store_true', help='also time one GFN1-xTB call on the whole supercell')
    parser.add_argument('--json', help='also write every figure here')
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from aiida_perovskite.mlip import xtb

    args.work.mkdir(parents=True, exist_ok=True)
    settings = xtb.validate_settings({'method': 'GFN1-xTB', 'replicate': [2, 2, 1]})
    reference_atoms, reference_record = xtb_relaxed(args.work, settings, args.relaxed)
    reference = lattice(reference_atoms, base_repeat(reference_atoms))
    print(f'GFN1-xTB relaxed Cs2PbI4 (2x2x1 replica; {reference_record}): a {reference["a"]:.3f} b {reference["b"]:.3f} c {reference["c"]:.3f} A, '
          f'V {reference["volume"]:.1f} A^3 per 14 atoms', flush=True)
    report = {'scale': {key: (str(value) if isinstance(value, pathlib.Path) else value) for key, value in vars(args).items()
                        if key != 'models'},
              'xtb_relaxed': {**reference, **reference_record}, 'models': []}
    for folder in args.models:
        row = run_model(folder, args, reference_atoms, args.work)
        report['models'].append(row)
        relaxed, md = row['relaxed'], row['md']
        change = {key: 100 * (relaxed[key] / reference[key] - 1) for key in ('a', 'b', 'c', 'volume')}
        print(f'\n{folder}: 0 K a {relaxed["a"]:.3f} b {relaxed["b"]:.3f} c {relaxed["c"]:.3f} A '
              f'({change["a"]:+.1f} / {change["b"]:+.1f} / {change["c"]:+.1f} % against xTB), V {change["volume"]:+.1f} %',
              flush=True)
        octa = md['octahedra']
        pct = md['against_xtb_relaxed_pct']
        print(f'  NPT {md["atoms"]} atoms, {md["ps_done"]:.1f} ps at {md["temperature_k"]:g} K: {md["status"]}'
              f'{" (" + md["broken"]["message"] + ")" if md["broken"] else ""}; octahedra intact min {octa["min"]}, '
              f'last {octa["last"]} of {octa["metals"]}', flush=True)
        print(f'  second half: a {pct["a"]:+.1f} %, b {pct["b"]:+.1f} %, c {pct["c"]:+.1f} %, V {pct["volume"]:+.1f} % '
              f'against the xTB 0 K cell; drift V {md["volume_drift_a3_per_ps"]:+.2f} A^3/ps (std {md["volume_std_a3"]:.2f}), '
              f'E {1000 * md["energy_drift_ev_atom_per_ps"]:+.3f} meV/atom/ps (std {1000 * md["energy_std_ev_atom"]:.3f}); '
              + (f'{md["seconds_per_step"]:.3f} s per step' if md['seconds_per_step'] else 'no timed steps'),
              flush=True)
    report['xtb_cost'] = xtb_cost(reference_atoms.repeat(args.supercell or smallest_supercell(len(reference_atoms), 300)),
                                  {**settings, 'replicate': [1, 1, 1]}, args.xtb_cost)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(report, indent=1, default=float))


if __name__ == '__main__':
    main()
