"""The method's settings against the speed setting, on one material, through the temperature ladder.

What it measures: one dj-dft structure (default 00001.cif, 3x3x3) is parametrised twice with the
same charges (default AM1-BCC, the method's), once per setting, and run through a short
TemperatureLadderWorkChain (``thesis`` protocol, aniso barostat, 2 MPI ranks): minimisation,
equilibration at the first temperature, then 250, 300 and 350 K in turn.

- method: 1 fs, cutoff 12 A, PPPM 1e-5, no constraints; STEPS below (per temperature 6,000 steps,
  the first 2,000 cut; equilibration 4,000; thermo every 100, restart every 2,000).
- speed:  SHAKE on X-H bonds, 2 fs, cutoff 10 A, PPPM 1e-4; the same simulated time, so every step
  count above halved (3,000 per temperature, cut 1,000, equilibration 2,000, thermo every 50...):
  both give 40 samples over the same 4 ps per temperature.

Printed per setting: ns/day (median over the ladder's NPT segment calculations, from their
output_parameters), wall time of the parametrisation and of the ladder, and per temperature the mean
(and sample standard deviation) of the volume and potential energy per atom; the least-squares slope
of the mean potential energy per atom against temperature. Then the speed-up and, per temperature, the
relative difference in volume per atom. Why: the issue's aim is a speed setting at least twice as fast
as the method's with the volume per atom within 1%. SHAKE removes the potential energy of the
constrained bonds, kT/2 each, so the absolute PE per atom is not comparable; its slope is, after
the expected shift of -(constrained bonds / atoms) * k_B / 2, printed beside the measured one.
The runs are short (4 ps of samples per temperature): differences of a few tenths of a percent in
volume are within their noise.

The AiiDA profile lives in a temporary folder (``aiida-perovskite setup``), deleted at the end.

With ``--split`` three more ladders run, each the method's with one change (cutoff 10 A, PPPM
1e-4, SHAKE at 1 fs), to tell which change moves the volume.

Usage: ``python benchmarks/speed_setting.py [CIF] [--charges bcc|gas] [--split]``
(default CIF: ../shared/data/cifs/dj-dft/00001.cif; about 7 minutes on an idle 2-core machine, 25 with
--split).
"""

import argparse
import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np
from private_profile import open_private_profile  # benchmarks/, the script's folder, is on sys.path

DEFAULT = pathlib.Path(__file__).resolve().parents[1].parent / 'shared' / 'data' / 'cifs' / 'dj-dft' / '00001.cif'
PROFILE = 'speed-setting'
OPTIONS = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': 2}}
TEMPERATURES = [250, 300, 350]
#: The method's step counts; the speed setting halves each of them.
STEPS = {'steps_per_temperature': 6000, 'equilibration_steps': 4000, 'equilibration_cut': 2000,
         'thermo_every': 100, 'restart_every': 2000}
SETTINGS = {
    'method': {'cutoff': 12.0, 'kspace_accuracy': 1e-5, 'timestep': 1.0, 'shake': False, 'divide': 1},
    'speed': {'cutoff': 10.0, 'kspace_accuracy': 1e-4, 'timestep': 2.0, 'shake': True, 'divide': 2},
}
#: With --split: the method with one change at a time (2 fs needs SHAKE, so it has no ladder of its own).
SPLIT = {
    'cutoff-10A': {**SETTINGS['method'], 'cutoff': 10.0},
    'pppm-1e-4': {**SETTINGS['method'], 'kspace_accuracy': 1e-4},
    'shake-1fs': {**SETTINGS['method'], 'shake': True},
}
BOLTZMANN = 0.0019872043  # kcal/mol/K (LAMMPS real units)


def hydrogen_count(topology) -> int:
    """Atoms lighter than 1.1 amu in the data file: the X-H bonds ``fix shake ... m 1.1`` constrains."""
    section, light, count = None, set(), 0
    for line in topology.base.repository.get_object_content('data.lmp', mode='r').splitlines():
        fields = line.split('#')[0].split()
        if fields and fields[0][0].isalpha():  # a section header: Masses, Atoms, Bond Coeffs...
            section = fields[0]
        elif section == 'Masses' and len(fields) >= 2:
            if float(fields[1]) < 1.1:
                light.add(fields[0])
        elif section == 'Atoms' and len(fields) >= 7:
            count += fields[2] in light
    return count


def run_setting(cif: pathlib.Path, charges: str, codes, setting: dict) -> dict:
    from aiida import orm
    from aiida.engine import run_get_node

    from aiida_perovskite.workflows.ladder import TemperatureLadderWorkChain
    from aiida_perovskite.workflows.parametrise import ParametriseWorkChain

    tick = time.perf_counter()
    overrides = {'charge_method': charges, 'lammps': {'replication': [3, 3, 3], 'cutoff': setting['cutoff'],
                                                      'kspace_accuracy': setting['kspace_accuracy']}}
    cif_node = orm.CifData(file=str(cif), filename=cif.name)
    results, node = run_get_node(ParametriseWorkChain.get_builder_from_protocol(codes, cif_node, 'thesis', overrides))
    if not node.is_finished_ok:
        raise RuntimeError(f'parametrisation failed [{node.exit_status}]: {node.exit_message}')
    topology = results['topology']
    parametrise = time.perf_counter() - tick

    overrides = {key: value // setting['divide'] for key, value in STEPS.items()}
    overrides.update(temperatures=TEMPERATURES, timestep=setting['timestep'], shake=setting['shake'],
                     kspace_accuracy=setting['kspace_accuracy'])
    builder = TemperatureLadderWorkChain.get_builder_from_protocol(codes['lammps'], topology, 'thesis', overrides,
                                                                   OPTIONS)
    tick = time.perf_counter()
    results, ladder = run_get_node(builder)
    wall = time.perf_counter() - tick
    if not ladder.is_finished_ok:
        raise RuntimeError(f'ladder {ladder.pk} failed [{ladder.exit_status}]: {ladder.exit_message}')
    segments = [child.outputs.output_parameters.get_dict() for child in ladder.called_descendants
                if child.process_label == 'LammpsSegmentCalculation' and 'output_parameters' in child.outputs]
    npt = [segment for segment in segments if segment['stage'] == 'npt']
    summaries = [results['summaries'][f'T{t}'].get_dict() for t in TEMPERATURES]
    pe = [summary['pe_per_atom_mean'] for summary in summaries]
    return {
        'atoms': topology.base.attributes.get('n_atoms'), 'hydrogens': hydrogen_count(topology),
        'parametrise': parametrise, 'wall': wall, 'summaries': summaries,
        'ns_per_day': statistics.median(segment['ns_per_day'] for segment in npt),
        'steps_per_second': statistics.median(segment['steps_per_second'] for segment in npt),
        'segments': len(npt), 'slope': float(np.polyfit(TEMPERATURES, pe, 1)[0]), 'overrides': overrides,
    }


def main(cif: pathlib.Path, charges: str, split: bool) -> int:
    if not cif.exists():
        print(f'skipped: {cif} not found (the shared data must be beside the checkout)')
        return 0
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='aiida-perovskite-speed-'))
    os.environ['AIIDA_PATH'] = str(workdir)  # before aiida is imported: the private config folder
    start, load = time.perf_counter(), os.getloadavg()[0]
    try:
        if not open_private_profile(PROFILE):
            return 1

        from aiida.manage import get_manager

        from aiida_perovskite.tools.codes import load_codes

        codes = load_codes()
        settings = {**SETTINGS, **(SPLIT if split else {})}
        runs = {name: run_setting(cif, charges, codes, setting) for name, setting in settings.items()}
        get_manager().unload_profile()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    method, speed = runs['method'], runs['speed']
    print(f'{cif.name}: {method["atoms"]} atoms (3x3x3, {charges} charges, {method["hydrogens"]} H), 2 MPI ranks, '
          f'temperatures {TEMPERATURES} K, aniso barostat; load average at the start {load:.2f}')
    for name, run in runs.items():
        s, o = settings[name], run['overrides']
        print(f'{name}: {s["timestep"]:g} fs, cutoff {s["cutoff"]:g} A, PPPM {s["kspace_accuracy"]:g}, '
              f'SHAKE {"on" if s["shake"] else "off"}; {o["steps_per_temperature"]} steps per temperature '
              f'(cut {o["equilibration_cut"]}), equilibration {o["equilibration_steps"]}, thermo every '
              f'{o["thermo_every"]}')
        print(f'  {run["ns_per_day"]:.2f} ns/day, {run["steps_per_second"]:.1f} steps/s (median of {run["segments"]} '
              f'NPT segments); wall: parametrisation {run["parametrise"]:.0f} s, ladder {run["wall"]:.0f} s')
        print(f'  {"T K":>5s} {"V/atom A3":>10s} {"(std)":>7s} {"PE/atom kcal/mol":>17s} {"(std)":>7s} {"samples":>7s}')
        for t, summary in zip(TEMPERATURES, run['summaries']):
            print(f'  {t:5d} {summary["volume_per_atom_mean"]:10.4f} {summary["volume_per_atom_std"]:7.4f} '
                  f'{summary["pe_per_atom_mean"]:17.4f} {summary["pe_per_atom_std"]:7.4f} {summary["n_samples"]:7d}')
        print(f'  slope of PE per atom vs T: {1000 * run["slope"]:.4f} x 1e-3 kcal/mol/K')

    for name, run in runs.items():
        if name == 'method':
            continue
        differences = [100 * (b['volume_per_atom_mean'] / a['volume_per_atom_mean'] - 1)
                       for a, b in zip(method['summaries'], run['summaries'])]
        expected = -run['hydrogens'] / run['atoms'] * BOLTZMANN / 2 if settings[name]['shake'] else 0.0
        print(f'{name} vs method:')
        print(f'  ns/day ratio {run["ns_per_day"] / method["ns_per_day"]:.2f}; ladder wall-time ratio '
              f'{method["wall"] / run["wall"]:.2f}')
        print('  volume per atom: ' + ', '.join(f'{t} K {d:+.2f}%' for t, d in zip(TEMPERATURES, differences)))
        print(f'  PE slope difference ({name} - method): {1000 * (run["slope"] - method["slope"]):+.4f} x 1e-3 '
              f'kcal/mol/K; expected from SHAKE (-{run["hydrogens"] if settings[name]["shake"] else 0} bonds x '
              f'k_B/2 / {run["atoms"]} atoms): {1000 * expected:+.4f} x 1e-3')
    speedup = speed['ns_per_day'] / method['ns_per_day']
    differences = [100 * (b['volume_per_atom_mean'] / a['volume_per_atom_mean'] - 1)
                   for a, b in zip(method['summaries'], speed['summaries'])]
    print(f'aims: speed setting at least twice as fast: {"met" if speedup >= 2 else "MISSED"} ({speedup:.2f}x); '
          f'volume per atom within 1%: {"met" if max(map(abs, differences)) <= 1 else "MISSED"} '
          f'(largest {max(map(abs, differences)):.2f}%)')
    print(f'script wall time {time.perf_counter() - start:.0f} s; load average at the end {os.getloadavg()[0]:.2f}')
    return 0


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('cif', nargs='?', type=pathlib.Path, default=DEFAULT)
    parser.add_argument('--charges', choices=('bcc', 'gas'), default='bcc')
    parser.add_argument('--split', action='store_true',
                        help='also run the method with one change at a time (cutoff, PPPM, SHAKE)')
    arguments = parser.parse_args()
    sys.exit(main(arguments.cif, arguments.charges, arguments.split))
