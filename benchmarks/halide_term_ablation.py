"""Which short-range terms tear a metal-halide layer? Minimise the cell at 0 K with one group of terms off at a time.

What it does: parametrises a CIF through the product (``aiida-perovskite setup`` and ``parametrise
--parameter-set SET --charge-model MODEL --auto-supercell`` in a private AiiDA profile in a
temporary folder), then minimises the LAMMPS system once per ablation: conjugate gradients at the
CIF's box, then twice ``fix box/relax aniso 1 atm`` with a plain minimisation between (the box
free, its angles kept). An ablation sets the energy of one group of pair terms to zero
(``epsilon`` of a Lennard-Jones term, ``A`` and ``C`` of a Buckingham term); Coulomb is never
changed. Three rows change the metal-halide Buckingham wall instead: out by 0.1 A (``A`` times
``exp(0.1 / rho)``), the size of the error of a rigid-ion bond length; and steeper, ``rho`` times 0.8 or 0.6
with ``A`` chosen so that the wall's force at the CIF's median metal-halide bond is unchanged (the bond
stays where it was, its stiffness grows by 1.25 or 1.67), to see whether a bridge tears because it is too
soft. The groups are found from the atom types of the data file (the ions by element, the
organic atoms by their GAFF type), so the script works for any metal, halide and spacer.

What it prints, per ablation: the change of each box length and of the volume from the CIF (%),
the metals that keep six halides within 1.25 times the CIF's median metal-halide bond
(:func:`aiida_perovskite.analysis.validation.octahedra_check`, the criterion of ``validate``), the
longest of those six bonds, and the mean shortest contact of each ammonium N, each N-bound H and
each C-bound H with a halide (Angstrom; the CIF's own first). The first row is the set as shipped.

Why: a published cell that tears under a set (``validate`` on the (cyclohexylammonium)2PbBr4 CIFs,
docs/source/method/forcefield.rst) can be torn by a term, or by the model as a whole. A term whose
removal keeps the layer whole is a suspect; a tear that survives every single ablation is not one
term's fault. Nothing is written in the repository.

Usage: ``python benchmarks/halide_term_ablation.py CIF --params myp-pbbr-hb`` (about 20 s per
ablation for 1,700 atoms on one core). The CIF may be a published one or a cell the product
builds (``aiida-perovskite build``).
"""

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from md_sanity import read_data  # the data-file reader of the MD sanity benchmark (beside this script)

SCRIPT = """include forcefield.lmp
include ablation.lmp
thermo 500
min_style cg
minimize 1e-10 1e-6 2000 20000
fix relax all box/relax aniso 1.0 vmax 0.001 nreset 100
minimize 1e-12 1e-6 5000 50000
unfix relax
minimize 1e-12 1e-6 2000 20000
fix relax all box/relax aniso 1.0 vmax 0.001 nreset 100
minimize 1e-12 1e-6 5000 50000
write_data final.lmp nocoeff
"""
METALS = ('Pb', 'Sn')
HALIDES = ('I', 'Br', 'Cl')


def atom_types(data: pathlib.Path) -> dict[int, str]:
    """``{type: label}`` from the ``Masses`` comments of a data file written by ``parametrise`` (``1 1.008 # hn``)."""
    text = data.read_text().split('Masses', 1)[1]
    labels = {}
    for line in text.strip().splitlines():
        if not line.strip():
            break
        number, _, label = line.partition('#')
        labels[int(number.split()[0])] = label.strip()
    return labels


def pair_styles(coefficients: pathlib.Path) -> dict[tuple[int, int], list[str]]:
    """``{(i, j): [sub-style, coefficients...]}`` of every ``pair_coeff`` line of a hybrid pair style."""
    styles = {}
    for line in coefficients.read_text().splitlines():
        fields = line.split()
        if fields[:1] == ['pair_coeff']:
            styles[(int(fields[1]), int(fields[2]))] = fields[3:]
    return styles


def kind(label: str) -> str:
    """What an atom type of the data file is: ``metal``, ``halide``, ``N``, ``H(N)`` (GAFF hn), ``H(C)``, ``C``
    or ``other``."""
    if label in METALS:
        return 'metal'
    if label in HALIDES:
        return 'halide'
    lower = label.lower()
    if lower in ('hn', 'h'):
        return 'H(N)'
    return {'n': 'N', 'h': 'H(C)', 'c': 'C'}.get(lower[:1], 'other')


def ablations(labels: dict[int, str], styles: dict[tuple[int, int], list[str]], bond: float = 3.0) -> dict[str, str]:
    """The ``pair_coeff`` lines of each ablation (none for the set as shipped); ``bond`` (A) is where the
    steeper walls keep their force.

    Every halide-organic term at once is not an ablation: without a wall the N-H and the halide
    collapse onto each other under their Coulomb attraction (H...X 1.4 A).
    """
    groups: dict[str, set[int]] = {}
    for number, label in labels.items():
        groups.setdefault(kind(label), set()).add(number)
    organic = set(labels) - groups.get('metal', set()) - groups.get('halide', set())
    hydrogens = groups.get('H(N)', set()) | groups.get('H(C)', set())

    def pairs(first, second):
        return sorted({tuple(sorted((i, j))) for i in first for j in second})

    def off(first, second):  # epsilon of a Lennard-Jones term, A and C of a Buckingham term to zero
        return ''.join(f'pair_coeff {i} {j} {styles[(i, j)][0]} 0.0 1.0'
                       + (' 0.0' if styles[(i, j)][0].startswith('buck') else '') + '\n' for i, j in pairs(first, second))

    def wall_out(shift):  # the metal-halide Buckingham wall moved out: A times exp(shift / rho)
        lines = []
        for i, j in pairs(groups['metal'], groups['halide']):
            style, prefactor, rho, dispersion = styles[(i, j)][:4]
            lines.append(f'pair_coeff {i} {j} {style} {float(prefactor) * np.exp(shift / float(rho)):.6f} {rho} {dispersion}\n')
        return ''.join(lines)

    def stiffer(factor):  # the metal-halide wall steeper (rho times factor), its force at the CIF's bond kept
        lines = []
        for i, j in pairs(groups['metal'], groups['halide']):
            style, prefactor, rho, dispersion = styles[(i, j)][:4]
            rho, new = float(rho), float(rho) * factor
            scaled = float(prefactor) * (new / rho) * np.exp(bond / new - bond / rho)
            lines.append(f'pair_coeff {i} {j} {style} {scaled:.6f} {new:.6f} {dispersion}\n')
        return ''.join(lines)

    halides = groups.get('halide', set())
    return {
        'as shipped': '',
        'X-N off': off(halides, groups.get('N', set())),
        'X-H(N) off': off(halides, groups.get('H(N)', set())),
        'X-H(C) off': off(halides, groups.get('H(C)', set())),
        'X-C off': off(halides, groups.get('C', set())),
        'metal-organic off': off(groups.get('metal', set()), organic),
        'organic H...H off': off(hydrogens, hydrogens),
        'M-X wall +0.1 A': wall_out(0.1),
        'M-X wall rho x 0.8': stiffer(0.8),
        'M-X wall rho x 0.6': stiffer(0.6),
    }


def parametrise(cif: pathlib.Path, parameter_set: str, charge_model: str, folder: pathlib.Path,
                supercell: bool = True) -> bool:
    cli = str(pathlib.Path(sys.executable).with_name('aiida-perovskite'))
    env = {**os.environ, 'AIIDA_PATH': str(folder / 'aiida')}
    for command in ([cli, 'setup', '--profile', 'ablation'],
                    [cli, 'parametrise', str(cif), '--parameter-set', parameter_set, '--charge-model', charge_model,
                     *(['--auto-supercell'] if supercell else []), '--write-dir', str(folder), '--profile', 'ablation']):
        completed = subprocess.run(command, capture_output=True, text=True, env=env)
        if completed.returncode:
            print(f'`{" ".join(command)}` failed:\n{completed.stdout}{completed.stderr}')
            return False
    return True


def run_lammps(folder: pathlib.Path, script: str, log: str) -> subprocess.CompletedProcess:
    """Run ``script`` (written as ``in.lmp``) with the product's LAMMPS on one core in ``folder``."""
    from aiida_perovskite.toolchain import environment, executable

    (folder / 'in.lmp').write_text(script)
    return subprocess.run([str(executable('lmp')), '-in', 'in.lmp', '-log', log, '-screen', 'none'], cwd=folder,
                          capture_output=True, text=True, env={**os.environ, **environment(), 'OMP_NUM_THREADS': '1'})


def box_change(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, float]:
    """Change of each cell length and of the volume (%) from cell rows ``start`` to ``end``."""
    lengths = 100 * (np.linalg.norm(end, axis=1) / np.linalg.norm(start, axis=1) - 1)
    return lengths, 100 * (abs(np.linalg.det(end)) / abs(np.linalg.det(start)) - 1)


def read_system(path: pathlib.Path, labels: dict[int, str]):
    """Atom types (ions by element, organic atoms by GAFF type), Cartesian positions and cell rows of a data file."""
    data = read_data(path)
    return [labels[number] for number in data['types']], data['positions'], data['cell']


def contacts(types, positions, cell) -> dict[str, float]:
    """Mean over each N, N-bound H and C-bound H of its shortest distance to a halide (periodic)."""
    inverse = np.linalg.inv(cell)
    halide = np.array([t in HALIDES for t in types])
    result = {}
    kinds = [kind(t) for t in types]
    for group in ('N', 'H(N)', 'H(C)'):
        name = f'{group}...X'
        chosen = np.array([k == group for k in kinds])
        if not chosen.any() or not halide.any():
            continue
        delta = positions[halide] @ inverse - (positions[chosen] @ inverse)[:, None]
        delta -= np.round(delta)
        distances = np.linalg.norm(delta @ cell, axis=-1).min(axis=1)
        result[name] = float(distances.mean())
    return result


def measure(types, positions, cell, cutoff=None):
    from aiida_perovskite.analysis.validation import octahedra_check, octahedron_cutoffs

    symbols = [t if t in METALS + HALIDES else 'C' for t in types]  # the check only looks at metals and halides
    metals = sorted({t for t in types if t in METALS})
    halides = sorted({t for t in types if t in HALIDES})
    if cutoff is None:
        cutoff = octahedron_cutoffs(symbols, positions, cell, metals, halides)
    check = octahedra_check(symbols, positions, cell, metals, halides, cutoff)
    return check, cutoff


def main(cif: pathlib.Path, parameter_set: str, charge_model: str, only: list[str] | None) -> int:
    if not cif.exists():
        print(f'skipped: {cif} not found')
        return 0

    folder = pathlib.Path(tempfile.mkdtemp(prefix='aiida-perovskite-ablation-'))
    try:
        tick = time.perf_counter()
        if not parametrise(cif, parameter_set, charge_model, folder):
            return 1
        print(f'{cif.name}: parametrised with {parameter_set} ({charge_model} charge model, AM1-BCC spacers) '
              f'in {time.perf_counter() - tick:.0f} s')
        labels = atom_types(folder / 'data.lmp')
        styles = pair_styles(folder / 'coefficients.lmp')
        types, positions, cell = read_system(folder / 'data.lmp', labels)
        reference, cutoff = measure(types, positions, cell)
        names = ['N...X', 'H(N)...X', 'H(C)...X']
        measured = contacts(types, positions, cell)
        print(f'{len(types)} atoms; octahedra judged with {cutoff} A; CIF contacts: '
              + ', '.join(f'{name} {measured[name]:.2f}' for name in names if name in measured))
        print(f'{"ablation":26s} {"da %":>6s} {"db %":>6s} {"dc %":>6s} {"dV %":>6s} {"octahedra":>10s} '
              f'{"longest":>8s} ' + ' '.join(f'{name:>9s}' for name in names))
        for name, text in ablations(labels, styles, min(cutoff.values()) / 1.25).items():
            if only and name not in only:
                continue
            (folder / 'ablation.lmp').write_text(text or '\n')
            final = folder / 'final.lmp'
            final.unlink(missing_ok=True)
            completed = run_lammps(folder, SCRIPT, 'log.lammps')
            if completed.returncode or not final.exists():
                log = (folder / 'log.lammps').read_text() if (folder / 'log.lammps').exists() else ''
                errors = re.findall(r'^ERROR.*$', log + completed.stdout, re.MULTILINE)
                print(f'{name:26s} LAMMPS failed: {errors[:1] or completed.stderr.splitlines()[-1:]}')
                continue
            types_f, positions_f, cell_f = read_system(final, labels)
            check, _ = measure(types_f, positions_f, cell_f, cutoff)
            change, volume = box_change(cell, cell_f)
            found = contacts(types_f, positions_f, cell_f)
            longest = max(value for value in check['longest'] if value is not None)
            print(f'{name:26s} {change[0]:+6.1f} {change[1]:+6.1f} {change[2]:+6.1f} {volume:+6.1f} '
                  f'{check["intact"]:>4d} of {check["metals"]:<3d} {longest:8.2f} '
                  + ' '.join(f'{found.get(key, float("nan")):9.2f}' for key in names))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f'reference: the CIF keeps {reference["intact"]} of {reference["metals"]} octahedra; '
          f'{time.perf_counter() - tick:.0f} s in all')
    return 0


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('cif', type=pathlib.Path)
    parser.add_argument('--params', default='myp-pbbr-hb', help='parameter set (default: %(default)s)')
    parser.add_argument('--charge-model', default='formal', help='charge model (default: %(default)s; see validate)')
    parser.add_argument('--only', nargs='+', help='run only these ablations (names as printed)')
    arguments = parser.parse_args()
    sys.exit(main(arguments.cif, arguments.params, arguments.charge_model, arguments.only))
