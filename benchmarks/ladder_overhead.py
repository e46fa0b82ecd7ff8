"""What AiiDA costs a ladder segment: one LAMMPS segment run as a CalcJob against the same input run directly.

What it measures: one dj-dft structure (default 00001.cif) is parametrised once (Gasteiger charges,
3x3x3, 12 A, PPPM 1e-5) and minimised once by a LammpsSegmentCalculation (untimed; it also absorbs
first-use costs). Then an equilibration-like NPT segment (300 K, 1 fs, velocities created, continuing
from the minimised restart, thermo every 500 and restart every 5,000 steps) runs on 2 MPI ranks
(a) as a LammpsSegmentCalculation through ``run_get_node`` (upload, job script, ``core.direct``
scheduler, polling, retrieval, parsing, provenance) and (b) as the very same files (the first
calculation's own ``in.lammps`` and ``coefficients.lmp`` from its repository, the minimised restart
symlinked as the CalcJob does) with ``mpirun -np 2 lmp`` in a subprocess. Each size runs in the
order AiiDA, direct, direct, AiiDA, so a drift in the machine's load affects both alike: first a
short segment (SHORT steps: the fixed overhead, and the calibration of the speed), then a long one
sized to last about LONG_SECONDS (rounded up to 1,000 steps). Why: a ladder is a chain of such
segments, and the aim is that AiiDA delivers at least 95% of the direct throughput for segments of
a minute or more.

Printed per run: wall time, the LAMMPS loop time and steps/s from its log, the time outside the MD
loop (wall - loop: MPI start-up, PPPM set-up, restart files; for AiiDA also the engine), and for
AiiDA the CPU the engine used meanwhile (this process plus the shell commands it ran, e.g. the
``ps`` polls; with 2 ranks on 2 cores that CPU is taken from LAMMPS). From the means: the
throughput ratio direct wall / AiiDA wall, the orchestration overhead AiiDA wall - direct wall, and,
insensitive to other load on the machine (but blind to the CPU the engine takes from the MD loop),
the difference of the times outside the loop and the ratio it gives at equal LAMMPS speed. The presto
``localhost`` computer polls jobs every ~1 s, so up to ~1 s of each AiiDA wall time is polling.
Every command the ``core.local`` transport runs (submit, each poll) goes through a login shell by
default (``bash -l``), whose start-up cost on this machine is printed; ``--no-login-shell``
configures the computer with ``use_login_shell=False`` to measure without it.

The AiiDA profile lives in a temporary folder (``aiida-perovskite setup``), deleted at the end.

Usage: ``python benchmarks/ladder_overhead.py [CIF] [--short STEPS] [--long-seconds S] [--no-login-shell]``
(default CIF: ../shared/data/cifs/dj-dft/00001.cif, 200 steps, 75 s; about 6 minutes in all).
"""

import argparse
import math
import os
import pathlib
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from private_profile import open_private_profile  # benchmarks/, the script's folder, is on sys.path

DEFAULT = pathlib.Path(__file__).resolve().parents[1].parent / 'shared' / 'data' / 'cifs' / 'dj-dft' / '00001.cif'
PROFILE = 'ladder-overhead'
RANKS = 2
OPTIONS = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': RANKS}}
#: The thesis protocol's ladder with sparser output and the triclinic barostat.
LADDER = {'thermo_every': 500, 'restart_every': 5000, 'barostat': 'tri'}


def segment(topology, stage: str, **settings) -> dict:
    """A complete segment of the thesis ladder (``LADDER`` changes) on ``topology`` (its PPPM accuracy)."""
    from aiida_perovskite.workflows.ladder import TemperatureLadderWorkChain, segment_settings

    return segment_settings(TemperatureLadderWorkChain.get_protocol_inputs('thesis', LADDER), topology, stage, **settings)


def loop_seconds(log: str) -> float:
    return float(re.findall(r'^Loop time of ([\d.eE+-]+)', log, re.MULTILINE)[-1])


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def through_aiida(code, topology, parent, steps: int) -> dict:
    """Run the NPT segment up to ``steps`` as a CalcJob; its wall time, speed and the node.

    The job itself is detached by the ``core.direct`` scheduler (``(bash ... &) &``), so its CPU
    is not counted as this process's children: the CPU measured is the engine's own.
    """
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_perovskite.calculations.lammps import LammpsSegmentCalculation

    tick, cpu = time.perf_counter(), cpu_seconds()
    _, node = run_get_node(LammpsSegmentCalculation, code=code, topology=topology, parent_folder=parent,
                           parameters=orm.Dict(segment(topology, 'npt', temperature=300.0, create_velocities=True,
                                                       target_step=steps)),
                           metadata={'options': OPTIONS})
    wall, cpu = time.perf_counter() - tick, cpu_seconds() - cpu
    if not node.is_finished_ok:
        raise RuntimeError(f'segment {node.pk} failed [{node.exit_status}]: {node.exit_message}')
    log = node.outputs.retrieved.base.repository.get_object_content(LammpsSegmentCalculation.LOG, mode='r')
    output = node.outputs.output_parameters.get_dict()
    return {'how': 'AiiDA', 'steps': output['steps_run'], 'wall': wall, 'loop': loop_seconds(log),
            'rate': output['steps_per_second'], 'engine_cpu': cpu, 'node': node}


def direct(calculation, parent, folder: pathlib.Path) -> dict:
    """Run the files the CalcJob ran (its repository, the parent's restart) with mpirun in ``folder``."""
    from aiida_perovskite.simulation.log import parse_log
    from aiida_perovskite.toolchain import environment, executable

    folder.mkdir()
    repository = calculation.base.repository
    for name in repository.list_object_names():
        if not name.startswith(('_aiida', '.aiida')):  # the job script and AiiDA's own records
            (folder / name).write_bytes(repository.get_object_content(name, mode='rb'))
    for restart in pathlib.Path(parent.get_remote_path()).glob('restart.*'):
        (folder / restart.name).symlink_to(restart)
    command = [str(executable('mpirun')), '-np', str(RANKS), str(executable('lmp')),
               '-in', 'in.lammps', '-log', 'log.lammps', '-nocite']  # the job script's command line
    tick = time.perf_counter()
    with open(folder / 'lammps.out', 'w') as stdout:
        completed = subprocess.run(command, cwd=folder, stdout=stdout, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env={**os.environ, **environment()})
    wall = time.perf_counter() - tick
    text = (folder / 'log.lammps').read_text()
    log = parse_log(text)
    if completed.returncode or log.error or not log.completed:
        raise RuntimeError(f'direct LAMMPS run failed (exit {completed.returncode}): {log.error}')
    return {'how': 'direct', 'steps': sum(steps for _, steps in log.blocks), 'wall': wall,
            'loop': loop_seconds(text), 'rate': log.steps_per_second}


def measure(code, topology, parent, steps: int, folder: pathlib.Path) -> list[dict]:
    """AiiDA, direct, direct, AiiDA: the direct runs use the first calculation's files."""
    first = through_aiida(code, topology, parent, steps)
    plain = [direct(first['node'], parent, folder / f'{steps}-{i}') for i in (1, 2)]
    return [first, *plain, through_aiida(code, topology, parent, steps)]


def report(name: str, runs: list[dict]) -> float:
    """Print the runs of one segment size and their comparison; return the throughput ratio."""
    same = len({run['steps'] for run in runs}) == 1
    print(f'{name} segment: {runs[0]["steps"]} steps (run as AiiDA, direct, direct, AiiDA; '
          f'{"each ran them all" if same else "the step counts DIFFER"})')
    print(f'  {"":7s} {"wall s":>8s} {"loop s":>8s} {"outside s":>9s} {"steps/s":>8s} {"engine CPU s":>12s}')
    for run in runs:
        cpu = f'{run["engine_cpu"]:12.2f}' if 'engine_cpu' in run else ''
        print(f'  {run["how"]:7s} {run["wall"]:8.2f} {run["loop"]:8.2f} {run["wall"] - run["loop"]:9.2f} '
              f'{run["rate"]:8.2f} {cpu}')
    mean = {how: {key: statistics.mean(r[key] for r in runs if r['how'] == how) for key in ('wall', 'loop')}
            for how in ('AiiDA', 'direct')}
    aiida, plain = mean['AiiDA'], mean['direct']
    outside = (aiida['wall'] - aiida['loop']) - (plain['wall'] - plain['loop'])
    ratio = plain['wall'] / aiida['wall']
    print(f'  means: AiiDA {aiida["wall"]:.2f} s, direct {plain["wall"]:.2f} s; throughput ratio (direct wall / '
          f'AiiDA wall) {ratio:.3f}; orchestration overhead {aiida["wall"] - plain["wall"]:+.2f} s')
    print(f'  outside the MD loop: AiiDA {outside:+.2f} s more than direct; at equal LAMMPS speed the ratio '
          f'would be {plain["wall"] / (plain["wall"] + outside):.3f}')
    return ratio


def shell_seconds(*options: str, repeat: int = 5) -> float:
    """Mean wall time of ``bash OPTIONS -c true``: what starting the transport's shell costs."""
    tick = time.perf_counter()
    for _ in range(repeat):
        subprocess.run(['bash', *options, '-c', 'true'], check=True)
    return (time.perf_counter() - tick) / repeat


def main(cif: pathlib.Path, short: int, long_seconds: float, login_shell: bool) -> int:
    if not cif.exists():
        print(f'skipped: {cif} not found (the shared data must be beside the checkout)')
        return 0
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='aiida-perovskite-overhead-'))
    os.environ['AIIDA_PATH'] = str(workdir)  # before aiida is imported: the private config folder
    start, load = time.perf_counter(), os.getloadavg()[0]
    try:
        if not open_private_profile(PROFILE):
            return 1

        from aiida import orm
        from aiida.engine import run_get_node
        from aiida.manage import get_manager

        from aiida_perovskite.calculations.lammps import LammpsSegmentCalculation
        from aiida_perovskite.tools.codes import load_codes
        from aiida_perovskite.workflows.parametrise import ParametriseWorkChain

        if not login_shell:
            orm.load_computer('localhost').configure(use_login_shell=False)
        codes = load_codes()
        cif_node = orm.CifData(file=str(cif), filename=cif.name)  # thesis: 3x3x3, 12 A, PPPM 1e-5
        results, node = run_get_node(ParametriseWorkChain.get_builder_from_protocol(codes, cif_node, 'thesis',
                                                                                    {'charge_method': 'gas'}))
        if not node.is_finished_ok:
            print(f'parametrisation failed [{node.exit_status}]: {node.exit_message}')
            return 1
        topology, atoms = results['topology'], results['topology'].base.attributes.get('n_atoms')
        _, minimised = run_get_node(
            LammpsSegmentCalculation, code=codes['lammps'], topology=topology, metadata={'options': OPTIONS},
            parameters=orm.Dict(segment(topology, 'minimise', target_step=0)),
        )
        if not minimised.is_finished_ok:
            print(f'minimisation failed [{minimised.exit_status}]: {minimised.exit_message}')
            return 1
        parent = minimised.outputs.remote_folder
        prepared = time.perf_counter() - start

        short_runs = measure(codes['lammps'], topology, parent, short, workdir)
        rate = statistics.mean(run['rate'] for run in short_runs)
        long_runs = measure(codes['lammps'], topology, parent, 1000 * math.ceil(long_seconds * rate / 1000), workdir)
        get_manager().unload_profile()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f'{cif.name}: {atoms} atoms (3x3x3, gas charges, 12 A, PPPM 1e-5), '
          f'{RANKS} MPI ranks, NPT 300 K, 1 fs, from the minimised cell; parametrisation and minimisation '
          f'{prepared:.0f} s')
    print(f'transport shell: {"login shell (the default)" if login_shell else "use_login_shell=False"}; '
          f'starting `bash -l -c true` takes {1000 * shell_seconds("-l"):.0f} ms here, `bash -c true` '
          f'{1000 * shell_seconds():.0f} ms')
    report('short', short_runs)
    ratio = report('long', long_runs)
    print(f'aim (AiiDA throughput >= 0.95 of direct for a segment of a minute or more): '
          f'{"met" if ratio >= 0.95 else "MISSED"} ({ratio:.3f})')
    print(f'load average (1 min) at the start {load:.2f}, at the end {os.getloadavg()[0]:.2f}; '
          f'script wall time {time.perf_counter() - start:.0f} s')
    return 0


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('cif', nargs='?', type=pathlib.Path, default=DEFAULT)
    parser.add_argument('--short', type=int, default=200, help='steps of the short segment (default 200)')
    parser.add_argument('--long-seconds', type=float, default=75.0, help='aimed length of the long segment (s)')
    parser.add_argument('--no-login-shell', action='store_true', help='configure localhost with use_login_shell=False')
    arguments = parser.parse_args()
    sys.exit(main(arguments.cif, arguments.short, arguments.long_seconds, not arguments.no_login_shell))
