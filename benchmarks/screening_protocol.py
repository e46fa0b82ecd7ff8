"""A screening ladder whose Cp(U) a model can learn: today's ``screening`` against a candidate design, same cost.

Issue 20: on 44 dj-dft materials the ``screening`` protocol's Cp(U) spread across materials only twice its
own sampling error (noise ceiling 1 - mean(stderr^2) / var(Cp(U)) = 0.66). ``benchmarks/cp_estimators.py``
and ``benchmarks/ladder_levers.py`` measured two levers that cut that error at no extra cost:

- the two end temperatures instead of four evenly spaced ones: the design of least variance for a slope
  (1.3x less error per simulated nanosecond);
- SHAKE on the X-H bonds with a 2 fs step (1.7-2.0x the ns/day), whose Cp(U) is short by k_B/2 per rigid
  bond and atom, which the targets add back (``analysis.targets.constraint_shift``).

Each design that has a ``REPLICATES`` entry also runs from a second velocity seed: the scatter between the
two runs of a material is its true error, which the block-averaged error of one short run can miss.

What it does: selects ``--count`` dj-dft cells with distinct spacers (``screening_dataset.select``: evenly
spread over the identifiers, at most ``--max-atoms`` atoms), parametrises each once with the ``screening``
force field (2x2 in-plane supercell), and runs on the same topology one ladder per design through the daemon
of ``--profile`` (``--parallel`` at a time, one MPI rank each; designs of a material run side by side, so
both see the same load). Finished work is found in the group and never run again: rerunning resumes.

Printed: per material, each design's Cp(U) with its block-averaged error and the volume per atom at 200
and 350 K; then per design the median wall time of its ladders, the mean error and the noise ceiling over
the materials; and the answer check of the candidate against today's protocol: the mean difference of
Cp(U) in units of its standard error over the materials, the chi^2 per material of the differences against
their combined errors, and the mean relative difference of the volumes.

Measured (2026-11-28, 20 cells, two ladders at a time on this 2-core machine; the table and its reading are
in docs/source/method/learning.rst, "How reproducible Cp(U) is"): under ``screening`` the two seeds of a
material differ by 4x what the block-averaged errors allow (true error of one run 0.32e-3 kcal/mol/K/atom
against 0.07e-3; noise ceiling -0.47 from the seeds, 0.92 from the block errors); after a 350 K anneal
(``descending-shake``) every material lies within 3.37e-3 +- 0.10e-3, a spread equal to one run's error. At
this cost no design gives Cp(U) a noise ceiling near 0.9 on these cells.

Usage: ``python benchmarks/screening_protocol.py [--count 20] [--parallel 2] [--profile screening-protocol]``
(about 100 s of one core per ladder and 10 s per parametrisation; four ladders per material by default). Set ``AIIDA_PATH`` to keep
the profile apart.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import numpy as np
from screening_dataset import CLI, SHARED, select  # benchmarks/, the script's folder, is on sys.path
from throttle import submit_throttled

#: Ladder overrides of each design on top of the ``screening`` protocol (ladder.yaml). The candidates spend
#: about the same steps as today's (26,000 of 2 fs with SHAKE against 30,000 of 1 fs; a SHAKE step costs ~15 %
#: more) on two temperatures, and cut 3 ps after the 150 K jump instead of 1 ps after a 50 K one.
#: ``two-end-shake`` climbs from 200 K as the method does; ``descending-shake`` equilibrates 8 ps at 350 K and
#: then goes down, so what relaxes in the cell relaxes before either temperature is sampled.
CANDIDATE = {'steps_per_temperature': 12000, 'equilibration_steps': 2000, 'equilibration_cut': 1500,
             'thermo_every': 50, 'restart_every': 6000, 'timestep': 2.0, 'shake': True}
DESIGNS = {
    'screening': {},
    'two-end-shake': {**CANDIDATE, 'temperatures': [200, 350]},
    'descending-shake': {**CANDIDATE, 'temperatures': [350, 200], 'equilibration_steps': 4000,
                         'steps_per_temperature': 11000, 'restart_every': 5500},
}
#: A second run of a design from other velocities (``seed``): the scatter between the two is the design's true
#: error, which a block-averaged error from within one short run can miss (slow drifts longer than the run).
REPLICATE_SEED = 1729
REPLICATES = {'screening': 'screening-seed2', 'descending-shake': 'descending-shake-seed2'}
DESIGNS.update({replicate: {**DESIGNS[design], 'seed': REPLICATE_SEED} for design, replicate in REPLICATES.items()})
#: What a run submits (``--designs``); the others are reported when their ladders exist in the group.
RUN = ('screening', 'screening-seed2', 'descending-shake', 'descending-shake-seed2')
OPTIONS = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 1}}


def _by_label(group) -> dict:
    return {node.label: node for node in group.nodes}


def parametrise_all(paths, codes, group, parallel: int) -> dict:
    from aiida import orm
    from aiida.engine import submit

    from aiida_perovskite.workflows.parametrise import ParametriseWorkChain

    existing = _by_label(group)
    nodes, pending = {}, []
    for path in paths:
        node = existing.get(f'parametrise:{path.stem}')
        if node is None:  # a failed parametrisation would fail again: it is reported, not rerun
            pending.append(path)
        else:
            nodes[path.stem] = node

    def submit_one(path):
        builder = ParametriseWorkChain.get_builder_from_protocol(
            codes, orm.CifData(file=str(path), filename=path.name), 'screening', options=OPTIONS)
        node = submit(builder)
        node.label = f'parametrise:{path.stem}'
        group.add_nodes(node)
        return path.stem, node

    return submit_throttled(pending, submit_one, nodes, parallel, poll=5)


def ladders_all(topologies: dict, code, group, parallel: int, designs) -> dict:
    from aiida.engine import submit

    from aiida_perovskite.workflows.ladder import TemperatureLadderWorkChain

    existing = _by_label(group)
    nodes, pending = {}, []
    for stem in topologies:
        for design in designs:
            label = f'ladder:{stem}:{design}'
            if label in existing:
                nodes[label] = existing[label]
            else:
                pending.append((stem, design))

    def submit_one(item):
        stem, design = item
        builder = TemperatureLadderWorkChain.get_builder_from_protocol(
            code, topologies[stem], 'screening', DESIGNS[design], OPTIONS)
        node = submit(builder)
        node.label = f'ladder:{stem}:{design}'
        group.add_nodes(node)
        return node.label, node

    return submit_throttled(pending, submit_one, nodes, parallel, poll=10)


def results(stem: str, node) -> dict | None:
    from aiida_perovskite.analysis import ladder_targets

    if not node.is_finished_ok:
        return None
    summaries = [resummarise(node, summary.get_dict()) for summary in node.outputs.summaries.values()]
    targets = ladder_targets(summaries)
    volumes = dict(zip(targets['temperatures'], targets['v_atom']))
    return {'cp': targets['cp_u'], 'se': targets['cp_u_stderr'], 'shift': targets['cp_u_constraint_shift'],
            'v200': volumes.get(200.0), 'v350': volumes.get(350.0), 'atoms': targets['n_atoms'],
            'seconds': (node.mtime - node.ctime).total_seconds(), 'octahedra': octahedra_share(node),
            'drift': max(abs(value) for value in targets['pe_per_atom_drift']), 'flagged': targets['flags']['pe_drift']}


def resummarise(ladder, stored: dict) -> dict:
    """A temperature's summary recomputed from the ladder's thermo series by today's code (so that ladders run
    before a new statistic, such as the energy drift, have it too)."""
    from aiida_perovskite.simulation.summary import summarise_temperature

    thermo = ladder.outputs.thermo
    rows = thermo.get_array('setpoint') == stored['temperature']
    series = {name: thermo.get_array(name)[rows] for name in thermo.get_arraynames() if name != 'setpoint'}
    record = summarise_temperature(series, stored['n_atoms'], stored['start_step'], stored['end_step'],
                                   stored['equilibration_cut'], temperature=stored['temperature'])
    return {**stored, **record}


def octahedra_share(ladder) -> float:
    """Share of intact octahedra in the ladder's quenched last frame, judged by the input cell's own bonds."""
    from aiida_perovskite.analysis.validation import octahedra_check, octahedron_cutoffs
    from aiida_perovskite.calculations.functions.ladder import lammps_data_structure

    start = lammps_data_structure(ladder.inputs.topology.base.repository.get_object_content('data.lmp'))
    end = ladder.outputs.quenched_structure.get_pymatgen()

    def cell(structure):
        return [site.specie.symbol for site in structure], structure.cart_coords, structure.lattice.matrix

    metals = sorted({symbol for symbol in cell(start)[0] if symbol in ('Pb', 'Sn')})
    halides = sorted({symbol for symbol in cell(start)[0] if symbol in ('Cl', 'Br', 'I')})
    cutoffs = octahedron_cutoffs(*cell(start), metals, halides)
    return octahedra_check(*cell(end), metals, halides, cutoffs)['share']


def noise_ceiling(values, error_variance: float) -> float:
    """1 - (error variance of one run) / (variance of the values over the materials)."""
    return 1.0 - float(error_variance) / float(np.var(values, ddof=1))


def report(ladders: dict, stems: list[str]) -> None:
    table = {stem: {design: results(stem, ladders[f'ladder:{stem}:{design}'])
                    for design in DESIGNS if f'ladder:{stem}:{design}' in ladders} for stem in stems}
    names = [design for design in DESIGNS if any(row.get(design) for row in table.values())]
    print('\nCp(U) in 1e-3 kcal/mol/K per atom (block-averaged error), volume per atom (A^3) at 200 / 350 K, '
          'octahedra intact after the quench, largest drift of U within a temperature (1e-3 kcal/mol/atom, '
          'second half against first), ladder wall time')
    print(f'{"cell":>6} {"atoms":>5}  ' + '  '.join(f'{name:>44}' for name in names))
    for stem, row in table.items():
        cells = []
        for name in names:
            r = row.get(name)
            cells.append(f'{"-":>44}' if r is None else
                         f'{r["cp"] * 1e3:6.3f}±{r["se"] * 1e3:5.3f} {r["v200"]:5.2f}/{r["v350"]:5.2f} '
                         f'{r["octahedra"]:4.0%} {r["drift"] * 1e3:3.0f} {r["seconds"]:3.0f}s')
        atoms = next((r['atoms'] for r in row.values() if r), 0)
        print(f'{stem:>6} {atoms:5d}  ' + '  '.join(cells))

    def finished(*designs):
        return [row for row in table.values() if all(row.get(design) for design in designs)]

    print('\nper design, over the materials it finished: ladder median wall time, spread of Cp(U) (std), rms '
          'block-averaged error (1e-3 kcal/mol/K/atom) and the noise ceiling those errors imply')
    for name in names:
        rows = finished(name)
        if len(rows) < 3:
            continue
        cp = np.array([row[name]['cp'] for row in rows])
        se = np.array([row[name]['se'] for row in rows])
        print(f'{name:>24}: {len(rows):3d} materials, {statistics.median(row[name]["seconds"] for row in rows):5.0f} s; '
              f'spread {np.std(cp, ddof=1) * 1e3:.3f}, error {np.sqrt(np.mean(se ** 2)) * 1e3:.3f}, '
              f'ceiling {noise_ceiling(cp, np.mean(se ** 2)):.3f}; flagged as drifting '
              f'{sum(row[name]["flagged"] for row in rows)}, under 90 % octahedra '
              f'{sum(row[name]["octahedra"] < 0.9 for row in rows)}')
    print('\nthe same design from two velocity seeds: the true error of one run is the rms of (run 1 - run 2) / '
          'sqrt(2); chi^2 per material of the differences against the block-averaged errors (1 if those are right)')
    for design, replicate in REPLICATES.items():
        rows = finished(design, replicate)
        if len(rows) < 3:
            continue
        first = np.array([row[design]['cp'] for row in rows])
        second = np.array([row[replicate]['cp'] for row in rows])
        claimed = np.array([row[design]['se'] ** 2 + row[replicate]['se'] ** 2 for row in rows])
        true_variance = float(np.mean((first - second) ** 2) / 2)
        print(f'{design:>24}: {len(rows):3d} materials; true error {np.sqrt(true_variance) * 1e3:.3f} against '
              f'block-averaged {np.sqrt(np.mean(claimed) / 2) * 1e3:.3f}; chi^2 {np.mean((first - second) ** 2 / claimed):.2f}; '
              f'noise ceiling of one run {noise_ceiling(first, true_variance):.3f} (block errors: '
              f'{noise_ceiling(first, np.mean(claimed) / 2):.3f}); seed-to-seed correlation '
              f'{np.corrcoef(first, second)[0, 1]:.3f}')
    base = 'screening'
    for candidate in ('two-end-shake', 'descending-shake'):
        rows = finished(base, candidate)
        if len(rows) < 3:
            continue
        difference = np.array([row[candidate]['cp'] - row[base]['cp'] for row in rows])
        mean, sem = difference.mean(), difference.std(ddof=1) / np.sqrt(difference.size)
        print(f'\n{candidate} - {base} over {len(rows)} materials: Cp(U) {mean * 1e3:+.4f} ± {sem * 1e3:.4f} '
              f'(1e-3; {mean / sem:+.1f} standard errors)')
        for key in ('v200', 'v350'):
            relative = np.array([row[candidate][key] / row[base][key] - 1 for row in rows])
            print(f'  volume per atom at {key[1:]} K: {relative.mean() * 100:+.2f} ± '
                  f'{relative.std(ddof=1) / np.sqrt(relative.size) * 100:.2f} % (max |.| {np.abs(relative).max() * 100:.2f} %)')
        ratio = statistics.median(row[candidate]['seconds'] / row[base]['seconds'] for row in rows)
        print(f'  cost: median ladder wall-time ratio {ratio:.2f}')


def main(arguments) -> int:
    if not SHARED.is_dir():
        print(f'needs the shared data folder {SHARED} beside the checkout')
        return 1
    paths = select(arguments.count, arguments.max_atoms)
    print(f'{len(paths)} cells with distinct spacers: {" ".join(path.stem for path in paths)}', flush=True)
    setup = subprocess.run([CLI, 'setup', '--profile', arguments.profile], capture_output=True, text=True)
    if setup.returncode:
        print(setup.stdout + setup.stderr)
        return 1
    from aiida import load_profile, orm

    from aiida_perovskite.tools.codes import load_codes
    from aiida_perovskite.tools.daemon import ensure_daemon

    load_profile(arguments.profile, allow_switch=True)
    codes = load_codes(None)
    if ensure_daemon(arguments.parallel):
        print(f'started the daemon of profile {arguments.profile}', flush=True)
    group, _ = orm.Group.collection.get_or_create(arguments.group)
    start = time.perf_counter()
    if not arguments.report_only:
        parametrised = parametrise_all(paths, codes, group, arguments.parallel)
        topologies = {stem: node.outputs.topology for stem, node in parametrised.items() if node.is_finished_ok}
        for stem, node in parametrised.items():
            if not node.is_finished_ok:
                print(f'{stem}: parametrisation failed [{node.exit_status}] {node.exit_message}')
        ladders_all(topologies, codes['lammps'], group, arguments.parallel, arguments.designs)
        print(f'wall time {time.perf_counter() - start:.0f} s', flush=True)
    report(_by_label(group), [path.stem for path in paths])
    return 0


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=20)
    parser.add_argument('--max-atoms', type=int, default=120)
    parser.add_argument('--parallel', type=int, default=2)
    parser.add_argument('--profile', default='screening-protocol')
    parser.add_argument('--group', default='screening-protocol')
    parser.add_argument('--designs', nargs='+', default=list(RUN), choices=list(DESIGNS))
    parser.add_argument('--report-only', action='store_true', help='print the tables of what has finished')
    sys.exit(main(parser.parse_args()))
