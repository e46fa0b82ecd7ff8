"""Which estimator of Cp(U) gives the smallest error per simulated nanosecond, on the same trajectories?

What it does: parametrises one CIF (default: the bundled examples/structures/ba2pbi4_rp_n1.cif; the
``fast`` force field: Gasteiger charges, PPPM 1e-4; ``--replication`` repeats the cell) and runs one
temperature ladder through AiiDA (a private profile in a temporary folder, one MPI rank): four
temperatures (200, 250, 300, 350 K) of ``--ps`` picoseconds each after a 5 ps equilibration, 1 fs steps,
thermo every ``--thermo-every`` steps, triclinic barostat at 1 atm. The ladder's own summaries and targets
(the product's code) give, for every temperature, the mean potential energy per atom with its
block-averaged standard error and the fluctuation estimate cov(U, H) / (k_B T^2) with its error.

Estimators compared, all from the same samples:
- ``slope``: the method's least-squares slope of the mean energies against T; error propagated from the
  means' block-averaged errors;
- ``fluctuation``: the inverse-variance mean of the four temperatures' cov(U, H) / (k_B T^2);
- ``combined``: the inverse-variance mean of the two.
Printed per estimator: its value, its error, the error scaled to one simulated nanosecond of production
(``error * sqrt(production ns)``: errors of means fall as one over the square root of the length) and,
as a check of the errors themselves, the scatter of the estimator over ``CHUNKS`` consecutive chunks of
every temperature (``std / sqrt(CHUNKS)``: an independent estimate of the same error, itself uncertain by
about ``1 / sqrt(2 (CHUNKS - 1))``, 41% for four chunks). The naive error (``std / sqrt(n)``) of each mean
is printed beside the block one.

Why: Cp(U) at the screening protocol's cost is as noisy as its spread across materials (issue 20); the
estimator with the smallest error per nanosecond buys the most precision for the same simulation.
The slope's error per atom falls as one over the square root of the atoms, the fluctuation estimate's
does not (a variance per atom is as noisy in a large cell as in a small one), so the answer depends on the
cell size: run it with ``--replication 2 2 1`` too.

Measured (2026-11-26, this 2-core machine loaded by others, load average 7-8; errors in kcal/mol/K/atom):

===========================  ==========  ===================  ==============  ===================
cell, production             estimator   Cp(U)                error x sqrt(ns)  chunk scatter check
===========================  ==========  ===================  ==============  ===================
78 atoms, 4 x 19 ps          slope       3.76e-3 ± 7.3e-5     2.0e-5          1.05e-4
                             fluctuation 3.55e-3 ± 1.35e-4    3.7e-5          1.46e-4
                             combined    3.71e-3 ± 6.4e-5     1.8e-5          1.30e-4
312 atoms (2x2x1), 4 x 9 ps  slope       3.45e-3 ± 4.9e-5     9.3e-6          6.2e-5
                             fluctuation 3.06e-3 ± 1.6e-4     3.1e-5          1.64e-4
                             combined    3.42e-3 ± 4.7e-5     8.9e-6          6.9e-5
===========================  ==========  ===================  ==============  ===================

The slope's error per nanosecond is 1.9x (78 atoms) and 3.3x (312 atoms) smaller than the fluctuation
estimate's and falls as one over the square root of the atoms (2.0e-5 -> 9.3e-6 for 4x the atoms) while the
fluctuation's does not (3.7e-5 -> 3.1e-5); combining them gains 10% at 78 atoms and 4% at 312, less for the
screening (464 atoms) and thesis (4,212) cells, and the two differ by 1.3 and 2.3 combined errors. So the
targets keep the slope as ``cp_u`` with its block-averaged error as ``cp_u_stderr``. From the same run,
the two end temperatures alone (200 and 350 K) give the slope 1.3x less error per nanosecond than all four
(7.1e-6 against 9.3e-6): the design of least variance for a line, for the protocols to use. The slope's
block error sits 25-45% under the chunk scatter in both runs (that check is itself uncertain by about 41%).

Usage: ``python benchmarks/cp_estimators.py [CIF] [--replication A B C] [--ps PS] [--thermo-every N]``
(defaults: 1 1 1, 20 ps, 10 steps; about 2 minutes of one core for the 78-atom cell).
"""

import argparse
import os
import pathlib
import shutil
import sys
import tempfile
import time

import numpy as np
from private_profile import open_private_profile  # benchmarks/, the script's folder, is on sys.path

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT = ROOT / 'examples' / 'structures' / 'ba2pbi4_rp_n1.cif'
PROFILE = 'cp-estimators'
TEMPERATURES = [200.0, 250.0, 300.0, 350.0]
CHUNKS = 4


def estimators(summaries: list[dict]) -> dict[str, tuple[float, float]]:
    """(value, error) of each estimator from per-temperature summaries (the product's ladder_targets)."""
    from aiida_perovskite.analysis import ladder_targets

    targets = ladder_targets(summaries)
    return {
        'slope': (targets['cp_u'], targets['cp_u_stderr']),
        'fluctuation': (targets['cp_u_fluctuation'], targets['cp_u_fluctuation_stderr']),
        'combined': (targets['cp_u_combined'], targets['cp_u_combined_stderr']),
    }


def chunk_summaries(series: dict, summaries: list[dict], atoms: int, chunk: int) -> list[dict]:
    """The summaries of chunk ``chunk`` (of CHUNKS) of every temperature's production samples."""
    from aiida_perovskite.simulation.summary import summarise_temperature

    records = []
    for summary in summaries:
        rows = (series['setpoint'] == summary['temperature']) & (series['step'] >= summary['first_sample_step']) \
            & (series['step'] <= summary['last_sample_step'])
        steps = series['step'][rows]
        edges = np.linspace(steps[0] - 1, steps[-1], CHUNKS + 1)
        start, end = int(edges[chunk]), int(edges[chunk + 1])
        part = {name: values[rows] for name, values in series.items()}
        records.append({'temperature': summary['temperature'],
                        **summarise_temperature(part, atoms, start, end, 0, temperature=summary['temperature'])})
    return records


def main(cif: pathlib.Path, replication: list[int], picoseconds: float, thermo_every: int) -> int:
    if not cif.exists():
        print(f'skipped: {cif} not found')
        return 0
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='aiida-perovskite-cp-'))
    os.environ['AIIDA_PATH'] = str(workdir)  # before aiida is imported: the private config folder
    started = time.perf_counter()
    try:
        if not open_private_profile(PROFILE):
            return 1
        from aiida import orm
        from aiida.engine import run_get_node
        from aiida.manage import get_manager

        from aiida_perovskite.tools.codes import load_codes
        from aiida_perovskite.workflows.ladder import TemperatureLadderWorkChain
        from aiida_perovskite.workflows.parametrise import ParametriseWorkChain

        codes = load_codes()
        builder = ParametriseWorkChain.get_builder_from_protocol(
            codes, orm.CifData(file=str(cif), filename=cif.name), 'fast', {'lammps': {'replication': replication}})
        results, node = run_get_node(builder)
        if not node.is_finished_ok:
            print(f'parametrisation failed [{node.exit_status}]: {node.exit_message}')
            return 1
        topology = results['topology']
        atoms = topology.base.attributes.get('n_atoms')
        steps = round(picoseconds * 1000)
        overrides = {'temperatures': TEMPERATURES, 'steps_per_temperature': steps, 'equilibration_steps': 5000,
                     'equilibration_cut': 1000, 'thermo_every': thermo_every, 'restart_every': steps,
                     'barostat': 'tri'}
        ladder_start = time.perf_counter()
        results, node = run_get_node(TemperatureLadderWorkChain.get_builder_from_protocol(
            codes['lammps'], topology, 'fast', overrides,
            {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 1}}))
        ladder_seconds = time.perf_counter() - ladder_start
        if not node.is_finished_ok:
            print(f'ladder failed [{node.exit_status}]: {node.exit_message}')
            return 1
        summaries = sorted((summary.get_dict() for summary in results['summaries'].values()),
                           key=lambda summary: summary['temperature'])
        thermo = results['thermo']
        series = {name: thermo.get_array(name) for name in thermo.get_arraynames()}
        get_manager().unload_profile()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    production_ns = sum(s['last_sample_step'] - s['first_sample_step'] + thermo_every for s in summaries) * 1e-6
    print(f'{cif.name} x {replication}: {atoms} atoms, fast force field, 1 fs, thermo every {thermo_every} steps; '
          f'{len(summaries)} temperatures x {picoseconds:g} ps after 5 ps of equilibration '
          f'({production_ns * 1000:.0f} ps of production samples); ladder {ladder_seconds:.0f} s wall, '
          f'{time.perf_counter() - started:.0f} s in all (load average {os.getloadavg()[0]:.1f})')
    print('\nper temperature: mean U per atom (kcal/mol) with block and naive errors, the block size and '
          'the statistical inefficiency; fluctuation estimate of dU/dT per atom (kcal/mol/K)')
    for s in summaries:
        print(f'  {s["temperature"]:5.0f} K  U {s["pe_per_atom_mean"]:11.5f} ± {s["pe_per_atom_sem"]:.2e} '
              f'(naive {s["pe_per_atom_sem_naive"]:.2e}, blocks of {s["pe_per_atom_block_size"]}, '
              f'inefficiency {s["pe_per_atom_inefficiency"]:.1f}{"" if s["pe_per_atom_sem_converged"] else ", NOT converged"})'
              f'   cov(U,H)/kT^2 {s["cp_fluctuation"]:.3e} ± {s["cp_fluctuation_sem"]:.1e}')
    whole = estimators(summaries)
    chunks = [estimators(chunk_summaries(series, summaries, atoms, chunk)) for chunk in range(CHUNKS)]
    print(f'\nestimator      Cp(U) [kcal/mol/K/atom]   error      error x sqrt(ns)   chunk scatter / sqrt({CHUNKS})')
    for name, (value, error) in whole.items():
        values = [chunk[name][0] for chunk in chunks]
        scatter = float(np.std(values, ddof=1) / np.sqrt(CHUNKS))
        print(f'  {name:12s} {value:12.4e}             {error:9.2e}   {error * np.sqrt(production_ns):9.2e}'
              f'          {scatter:9.2e}')
    # The same samples, two temperatures only: the fast protocol's 250 and 300 K, and the ends of the range
    # (the design of least variance for a straight line). Errors per ns use those temperatures' samples only.
    for label, chosen in (('250+300 K', (250.0, 300.0)), ('200+350 K', (200.0, 350.0))):
        subset = [s for s in summaries if s['temperature'] in chosen]
        subset_ns = production_ns * len(subset) / len(summaries)
        for name, (value, error) in estimators(subset).items():
            if name != 'combined':
                print(f'  {name:12s} {value:12.4e}             {error:9.2e}   {error * np.sqrt(subset_ns):9.2e}'
                      f'          ({label} only)')
    best = min(whole, key=lambda name: whole[name][1])
    slope_value, slope_error = whole['slope']
    fluct_value, fluct_error = whole['fluctuation']
    print(f'\nsmallest error per simulated ns: {best}; slope - fluctuation = {slope_value - fluct_value:.2e} '
          f'({(slope_value - fluct_value) / np.hypot(slope_error, fluct_error):.1f} combined errors); '
          f'1.5 k_B (harmonic potential energy per atom) = {1.5 * 0.0019872043:.2e}')
    return 0


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('cif', nargs='?', type=pathlib.Path, default=DEFAULT)
    parser.add_argument('--replication', nargs=3, type=int, default=[1, 1, 1])
    parser.add_argument('--ps', type=float, default=20.0, help='production picoseconds per temperature')
    parser.add_argument('--thermo-every', type=int, default=10)
    arguments = parser.parse_args()
    sys.exit(main(arguments.cif, arguments.replication, arguments.ps, arguments.thermo_every))
