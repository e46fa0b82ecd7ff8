"""Physical sanity of a parametrised system: does a short NPT run at 300 K keep the perovskite intact?

What it does: parametrises one dj-dft structure (default 00001.cif) with AM1-BCC charges at the
default 3x3x3 replication through ``aiida-perovskite setup`` / ``parametrise`` (a private AiiDA
profile in a temporary folder), then runs LAMMPS on 2 MPI ranks: conjugate-gradient minimisation
(``minimize 1e-6 1e-8 1000 10000``), velocities at 300 K, 2,000 steps of 1 fs NPT at 300 K and
1 atm (``tri`` barostat by default, ``--barostat aniso`` as the alternative; Tdamp 100 fs, Pdamp
1000 fs), thermo every 100 steps, ``write_data final.lmp``.

What it measures and why (aims of the issue): (a) the share of Pb atoms with six I within 3.8 A,
initial and final (periodic; all should keep six: the octahedra must survive); (b) the density of
the CIF against the final one (within 10%: the force field must not swell or collapse the cell);
(c) the MD wall time and steps/s (what the temperature ladder will cost). Also the longest bond at
the end (a broken molecule would show) and LAMMPS's warnings.

Usage: ``python benchmarks/md_sanity.py [CIF] [--barostat tri|aniso]``
(default CIF: ../shared/data/cifs/dj-dft/00001.cif). Nothing is written in the repository.
"""

import argparse
import itertools
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

DEFAULT = pathlib.Path(__file__).resolve().parents[1].parent / 'shared' / 'data' / 'cifs' / 'dj-dft' / '00001.cif'
CUTOFF = 3.8  # A, Pb-I "bonded" within this distance
STEPS = 2000
AMU_PER_A3_TO_G_PER_CM3 = 1.66053907
MASSES = {'H': 1.008, 'C': 12.011, 'N': 14.007, 'O': 15.999, 'F': 18.998, 'S': 32.06, 'Cl': 35.45,
          'Br': 79.904, 'Sn': 118.71, 'I': 126.904, 'Pb': 207.2}

SCRIPT = """include forcefield.lmp
thermo_style custom step temp press pe density vol lx ly lz
thermo 100
min_style cg
minimize 1e-6 1e-8 1000 10000
reset_timestep 0
velocity all create 300 4928459 mom yes rot no dist gaussian
timestep 1.0
fix md all npt temp 300 300 100 {barostat} 1.0 1.0 1000
run {steps}
write_data final.lmp nocoeff
"""


def read_data(path: pathlib.Path) -> dict:
    """Cell (rows a, b, c), element symbols, atom types, positions and bonds of a LAMMPS data file (atom_style full)."""
    lines = path.read_text().splitlines()
    header = {}
    for line in lines[:40]:
        for key in ('xlo xhi', 'ylo yhi', 'zlo zhi', 'xy xz yz'):
            if line.rstrip().endswith(key):
                header[key] = [float(value) for value in line.split()[:len(key.split())]]

    def section(name: str) -> list[list[str]]:
        start = next(i for i, line in enumerate(lines) if line.split()[:1] == [name])
        rows = []
        for line in lines[start + 1:]:
            if line.strip() and line.lstrip()[0].isalpha():
                break
            if line.strip():
                rows.append(line.split('#')[0].split())
        return rows

    (xlo, xhi), (ylo, yhi), (zlo, zhi) = header['xlo xhi'], header['ylo yhi'], header['zlo zhi']
    xy, xz, yz = header.get('xy xz yz', (0.0, 0.0, 0.0))
    cell = np.array([[xhi - xlo, 0, 0], [xy, yhi - ylo, 0], [xz, yz, zhi - zlo]])
    element = {row[0]: min(MASSES, key=lambda e: abs(MASSES[e] - float(row[1]))) for row in section('Masses')}
    atoms = sorted(section('Atoms'), key=lambda row: int(row[0]))
    index = {row[0]: i for i, row in enumerate(atoms)}
    return {
        'cell': cell,
        'symbols': np.array([element[row[2]] for row in atoms]),
        'types': np.array([int(row[2]) for row in atoms]),
        'masses': np.array([MASSES[element[row[2]]] for row in atoms]),
        'positions': np.array([[float(value) for value in row[4:7]] for row in atoms]),
        'bonds': np.array([[index[row[2]], index[row[3]]] for row in section('Bonds')]),
    }


def periodic_distances(cell: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances from each point of ``a`` to every periodic image (27 nearest cells) of each point of ``b``."""
    inverse = np.linalg.inv(cell)
    delta = b @ inverse - (a @ inverse)[:, None]
    delta -= np.round(delta)
    shifts = np.array(list(itertools.product((-1, 0, 1), repeat=3)))
    return np.linalg.norm((delta[:, :, None, :] + shifts) @ cell, axis=-1)  # (len a, len b, 27)


def octahedra(data: dict) -> tuple[float, dict, np.ndarray]:
    """Share of Pb with six I within CUTOFF, the histogram of I counts, and each Pb's sorted Pb-I distances."""
    pb, iodine = (data['positions'][data['symbols'] == symbol] for symbol in ('Pb', 'I'))
    distances = periodic_distances(data['cell'], pb, iodine)
    counts = (distances < CUTOFF).sum(axis=(1, 2))
    histogram = dict(zip(*np.unique(counts, return_counts=True)))
    return float(np.mean(counts == 6)), {int(k): int(v) for k, v in histogram.items()}, np.sort(distances.min(axis=2))


def density(data: dict) -> float:
    return data['masses'].sum() / abs(np.linalg.det(data['cell'])) * AMU_PER_A3_TO_G_PER_CM3


def longest_bond(data: dict) -> float:
    i, j = data['bonds'].T
    delta = (data['positions'][j] - data['positions'][i]) @ np.linalg.inv(data['cell'])
    delta -= np.round(delta)
    return float(np.linalg.norm(delta @ data['cell'], axis=1).max())


def thermo_blocks(log: str) -> list[tuple[list[str], np.ndarray]]:
    """The thermo tables of a LAMMPS log (minimisation first, then the MD)."""
    blocks, lines = [], log.splitlines()
    for start, line in enumerate(lines):
        if line.split()[:1] == ['Step']:
            rows = []
            for row in lines[start + 1:]:
                if row.startswith('WARNING'):  # LAMMPS prints warnings inside the table
                    continue
                if not row.strip():
                    break
                try:
                    rows.append([float(value) for value in row.split()])
                except ValueError:
                    break
            blocks.append((line.split(), np.array(rows)))
    return blocks


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def parametrise(cif: pathlib.Path, folder: pathlib.Path) -> bool:
    """``aiida-perovskite setup`` and ``parametrise --charges bcc`` with a private profile; files into ``folder``."""
    cli = str(pathlib.Path(sys.executable).with_name('aiida-perovskite'))
    env = {**os.environ, 'AIIDA_PATH': str(folder / 'aiida')}
    tick = time.perf_counter()
    for command in ([cli, 'setup', '--profile', 'md'],
                    [cli, 'parametrise', str(cif), '--charges', 'bcc', '--write-dir', str(folder), '--profile', 'md']):
        completed = run(command, env=env)
        if completed.returncode:
            print(f'`{" ".join(command)}` failed:\n{completed.stdout}{completed.stderr}')
            return False
    print(f'parametrised (bcc, 3x3x3) in {time.perf_counter() - tick:.1f} s:')
    print('\n'.join(line for line in completed.stdout.splitlines() if not line.startswith(('  wrote', '  provenance'))))
    return True


def lammps(folder: pathlib.Path, barostat: str) -> str | None:
    """Run the script on 2 MPI ranks in ``folder``; return the log, or None (after printing why) if LAMMPS failed."""
    from aiida_perovskite.toolchain import environment, executable

    (folder / 'in.lmp').write_text(SCRIPT.format(barostat=barostat, steps=STEPS))
    command = [str(executable('mpirun')), '-np', '2', str(executable('lmp')), '-in', 'in.lmp', '-log', 'log.lammps']
    tick = time.perf_counter()
    completed = run(command, cwd=folder, env={**os.environ, **environment(), 'OMP_NUM_THREADS': '1'})
    log = (folder / 'log.lammps').read_text() if (folder / 'log.lammps').exists() else completed.stdout
    print(f'LAMMPS ({barostat} barostat, 2 MPI ranks): exit {completed.returncode}, '
          f'{time.perf_counter() - tick:.1f} s wall for minimisation + MD')
    for line in sorted({line.strip() for line in log.splitlines() if line.startswith('WARNING')})[:5]:
        print(f'  {line}')
    errors = [line for line in (log + completed.stdout + completed.stderr).splitlines() if 'ERROR' in line]
    if completed.returncode or errors or not (folder / 'final.lmp').exists():
        print('LAMMPS failed; errors:\n  ' + '\n  '.join(dict.fromkeys(errors or completed.stderr.splitlines()[-10:])))
        print('last lines of the log:\n  ' + '\n  '.join(log.splitlines()[-8:]))
        return None
    return log


def main(cif: pathlib.Path, barostat: str) -> int:
    if not cif.exists():
        print(f'skipped: {cif} not found (the shared data must be beside the checkout)')
        return 0
    tmp = pathlib.Path(tempfile.mkdtemp(prefix='aiida-perovskite-md-'))
    try:
        if not parametrise(cif, tmp):
            return 1
        log = lammps(tmp, barostat)
        if log is None:
            return 1
        initial, final = read_data(tmp / 'data.lmp'), read_data(tmp / 'final.lmp')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    loops = [float(value) for value in re.findall(r'^Loop time of ([\d.]+)', log, re.MULTILINE)]
    stop = re.search(r'Stopping criterion = (.*)', log)[1].strip()
    iterations = re.search(r'Iterations, force evaluations = (.*)', log)[1].split()[0]
    energies = re.search(r'Energy initial, next-to-last, final = \n\s*(.*)', log)[1].split()
    print(f'minimise: {iterations} iterations, {loops[0]:.1f} s, stopped on {stop}; '
          f'PE {float(energies[0]):.0f} -> {float(energies[2]):.0f} kcal/mol')
    columns, md = thermo_blocks(log)[-1]
    print('MD thermo:\n  ' + ' '.join(f'{name:>10s}' for name in columns))
    for row in md:
        print('  ' + ' '.join(f'{value:10.{0 if name == "Step" else 3 if name == "Density" else 1}f}'
                              for name, value in zip(columns, row)))
    second_half = {name: md[md[:, 0] >= STEPS / 2, i].mean() for i, name in enumerate(columns)}

    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        from pymatgen.core import Structure

        cif_density = Structure.from_file(str(cif)).density
    print('results:')
    for name, data in (('initial', initial), ('final', final)):
        share, histogram, nearest = octahedra(data)
        print(f'  (a) {name:7s}: {100 * share:5.1f}% of {sum(histogram.values())} Pb have six I within {CUTOFF} A '
              f'(I count: Pb count {histogram})\n'
              f'      Pb-I: nearest {nearest[:, 0].min():.2f} A, 6th nearest median {np.median(nearest[:, 5]):.2f} '
              f'max {nearest[:, 5].max():.2f} A, 7th nearest min {nearest[:, 6].min():.2f} A')
    change = 100 * (density(final) / cif_density - 1)
    print(f'  (b) density g/cm3: CIF {cif_density:.3f}, data.lmp {density(initial):.3f}, final {density(final):.3f} '
          f'({change:+.1f}%);\n      mean of steps {STEPS // 2}-{STEPS} {second_half["Density"]:.3f} '
          f'({100 * (second_half["Density"] / cif_density - 1):+.1f}%)')
    print(f'  (c) MD: {STEPS} steps in {loops[-1]:.1f} s = {STEPS / loops[-1]:.1f} steps/s '
          f'({len(final["symbols"])} atoms, 2 ranks)')
    print(f'  atoms {len(initial["symbols"])} -> {len(final["symbols"])}; longest bond at the end '
          f'{longest_bond(final):.2f} A; mean T of the second half {second_half["Temp"]:.0f} K')
    print(f'aims: all Pb keep six I within {CUTOFF} A: {"met" if octahedra(final)[0] == 1 else "MISSED"}; '
          f'density within 10% of the CIF: {"met" if abs(change) <= 10 else "MISSED"}')
    return 0


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('cif', nargs='?', type=pathlib.Path, default=DEFAULT)
    parser.add_argument('--barostat', choices=('tri', 'aniso'), default='tri')
    arguments = parser.parse_args()
    sys.exit(main(arguments.cif, arguments.barostat))
