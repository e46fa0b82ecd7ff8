"""Speed levers of the LAMMPS ladder, each alone and together, on the method's cell and this machine's cores.

    python benchmarks/openmm_gpu.py prepare OUT          # once: the 4,212-atom (BA)2PbI4 cell, thesis force field
    python benchmarks/ladder_levers.py OUT/lammps [--steps 2000] [--levers NAME ...] [--out levers.json]

What it measures: the ns/day of one NPT segment (300 K, 1 bar, ``aniso`` barostat: the ``thesis``
protocol) written by the product's own :func:`aiida_perovskite.simulation.script.segment_script`, the
input a ``LammpsSegmentCalculation`` runs, started from the topology with new velocities, under each lever
in :data:`LEVERS`. A lever is a change of the segment settings (time step, SHAKE, PPPM accuracy) or of
the input's text (neighbour list, PPPM order, OpenMP or OPT styles, r-RESPA) or of how LAMMPS is started
(MPI ranks, OpenMP threads). Each run is timed by LAMMPS itself (its ``Performance`` line, over the
``--steps`` steps, set-up excluded) and reports the mean volume per atom of its second half, a
smoke check only: runs this short cannot hold a lever to the 0.5 % volume aim (that needs long runs,
``benchmarks/speed_setting.py`` on two materials, or the GPU engine, ``benchmarks/openmm_gpu.py``).

Why: the ladder's issue asks which levers make the method's 660 ps ladder fast on two cores without
changing its answer; the time the ladder would take at each speed is printed beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

LADDER_PS = 16 * 40 + 20  # the method's ladder: 16 temperatures x 40 ps, 20 ps of equilibration
#: The method's segment (``thesis`` ladder protocol) at 300 K.
METHOD = {'stage': 'npt', 'timestep': 1.0, 'thermo_every': 1000, 'restart_every': 1000000, 'barostat': 'aniso',
          'pressure': 1.0, 'tdamp': 100.0, 'pdamp': 1000.0, 'seed': 4928459, 'kspace_accuracy': 1e-5,
          'shake': False, 'temperature': 300.0, 'create_velocities': True}
NEIGHBOUR = 'neigh_modify delay 0 every 1 check yes'
#: name: (settings changed, input text replaced {old: new}, MPI ranks, OpenMP threads per rank, extra lmp arguments)
LEVERS = {
    'method, 1 rank': ({}, {}, 1, 1, []),
    'method, 2 ranks': ({}, {}, 2, 1, []),
    '1 rank x 2 OpenMP threads': ({}, {}, 1, 2, ['-sf', 'omp', '-pk', 'omp', '2']),
    '2 ranks, OPT styles': ({}, {}, 2, 1, ['-sf', 'opt']),
    '2 ranks, neighbour list every 2 steps': ({}, {NEIGHBOUR: 'neigh_modify delay 0 every 2 check yes'}, 2, 1, []),
    '2 ranks, skin 1.5 A': ({}, {'neighbor 2.0 bin': 'neighbor 1.5 bin'}, 2, 1, []),
    '2 ranks, PPPM order 7': ({}, {'kspace_style pppm 1e-05': 'kspace_style pppm 1e-05\nkspace_modify order 7'}, 2, 1, []),
    '2 ranks, PPPM 1e-4': ({'kspace_accuracy': 1e-4}, {}, 2, 1, []),
    '2 ranks, SHAKE X-H, 2 fs': ({'shake': True, 'timestep': 2.0}, {}, 2, 1, []),
    '2 ranks, r-RESPA 2 fs (bonded 1 fs)': ({'timestep': 2.0}, {
        'fix integrate': 'run_style respa 2 2 bond 1 angle 1 dihedral 1 improper 1 pair 2 kspace 2\nfix integrate'},
        2, 1, []),
    '2 ranks, SHAKE 2 fs + PPPM 1e-4 + every 2': ({'shake': True, 'timestep': 2.0, 'kspace_accuracy': 1e-4},
                                                  {NEIGHBOUR: 'neigh_modify delay 0 every 2 check yes'}, 2, 1, []),
    '2 ranks, SHAKE 2 fs + PPPM 1e-4 + OPT': ({'shake': True, 'timestep': 2.0, 'kspace_accuracy': 1e-4}, {}, 2, 1,
                                              ['-sf', 'opt']),
    '2 ranks, SHAKE + r-RESPA 4 fs (bonded 2 fs)': ({'shake': True, 'timestep': 4.0}, {
        'fix integrate': 'run_style respa 2 2 bond 1 angle 1 dihedral 1 improper 1 pair 2 kspace 2\nfix integrate'},
        2, 1, []),
}


def run_lever(topology: pathlib.Path, name: str, steps: int) -> dict:
    """One lever: the product's segment input with the lever applied, run by LAMMPS; its speed and volume."""
    from aiida_perovskite.simulation.log import parse_log
    from aiida_perovskite.simulation.script import segment_script
    from aiida_perovskite.toolchain import environment, executable

    changes, replace, ranks, threads, arguments = LEVERS[name]
    settings = {**METHOD, **changes}
    settings['target_step'] = int(round(steps * METHOD['timestep'] / settings['timestep']))  # the same simulated time
    script = segment_script(settings, from_restart=False)
    for old, new in replace.items():
        if old not in script:
            raise ValueError(f'{name}: {old!r} is not in the segment input')
        script = script.replace(old, new)
    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        for path in topology.iterdir():
            shutil.copy(path, work / path.name)
        (work / 'in.lammps').write_text(script)
        command = [str(executable('lmp')), '-in', 'in.lammps', '-log', 'log.lammps', '-nocite', *arguments]
        if ranks > 1:
            command = [str(executable('mpirun')), '-np', str(ranks), *command]
        env = {**os.environ, **environment(), 'OMP_NUM_THREADS': str(threads)}
        completed = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
        log = parse_log((work / 'log.lammps').read_text()) if (work / 'log.lammps').exists() else None
    if completed.returncode or log is None or log.error or log.ns_per_day is None:
        message = (log.error if log and log.error else completed.stderr.strip().splitlines()[-1:] or ['no log'])
        raise RuntimeError(f'{name}: LAMMPS failed: {message}')
    rows = log.rows[len(log.rows) // 2:]
    atoms = int(next(line.split()[0] for line in (topology / 'data.lmp').read_text().splitlines() if line.endswith('atoms')))
    return {'lever': name, 'ns_per_day': log.ns_per_day, 'steps': settings['target_step'],
            'timestep_fs': settings['timestep'], 'ladder_hours': LADDER_PS * 1e-3 / log.ns_per_day * 24,
            'volume_per_atom': float(rows[:, 6].mean() / atoms), 'temperature': float(rows[:, 1].mean())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('topology', type=pathlib.Path, help='folder with data.lmp, forcefield.lmp, coefficients.lmp')
    parser.add_argument('--steps', type=int, default=2000, help='steps of 1 fs per lever (fewer with a longer step)')
    parser.add_argument('--levers', nargs='+', choices=list(LEVERS), default=list(LEVERS))
    parser.add_argument('--out', type=pathlib.Path)
    args = parser.parse_args(argv)
    print(f'load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores', flush=True)
    results, baseline = [], None
    for name in args.levers:
        try:
            row = run_lever(args.topology, name, args.steps)
        except (RuntimeError, ValueError) as error:
            print(error, flush=True)
            continue
        baseline = baseline or (row['ns_per_day'] if name == 'method, 2 ranks' else None)
        results.append(row)
        ratio = f'{row["ns_per_day"] / baseline:5.2f}x' if baseline else '     '
        print(f'{name:42s} {row["ns_per_day"]:6.2f} ns/day {ratio}  ladder {row["ladder_hours"]:5.2f} h  '
              f'T {row["temperature"]:5.1f} K  V {row["volume_per_atom"]:.4f} A^3/atom', flush=True)
        if args.out:
            args.out.write_text(json.dumps(results, indent=1))
    print(f'load {os.getloadavg()[0]:.1f} at the end; ratios against "method, 2 ranks" (the default for one '
          'material on this machine)', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
