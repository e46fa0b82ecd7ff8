"""Can a rigid-ion set be refitted to an MLIP so that the published cyclohexylammonium bromide stops tearing?

What it does (issue 16's fitting step, tried with a machine-learned reference):

1. Builds training cells with the product (``aiida-perovskite build``; default: the three built lead-bromide
   references of ``forcefield_fidelity.py``, BAMC, MPDA and BA, plus the RP cell of each ``--extra-spacers``) and parametrises each with ``--params``
   (private AiiDA profile in a temporary folder, as ``halide_term_ablation.py``).
2. Samples configurations of each cell: the cell itself; its metals and halides rattled (Gaussian, 0.05-0.15
   A); and three strained cells (each axis by up to +-3 %, the ions moved affinely, every molecule kept whole
   and moved rigidly with its centre, so that no intramolecular term changes between configurations).
3. Labels them with the MLIP (``--potential``, default SevenNet + D3(BJ), the engine that holds the published
   (CHA)2PbBr4 and (BA)2PbBr4 cells within 4 %: docs/source/method/mlip.rst).
4. Fits the chosen pair terms (``--pairs``, Buckingham ``A``, ``rho``, ``C`` or Lennard-Jones ``epsilon``,
   ``sigma`` within physical bounds) by least squares (soft-L1) to the MLIP's forces on the metals and halides,
   its stress and its energy; stresses and energies are compared after subtracting each cell's mean over its
   configurations, because the rigid molecules carry a constant GAFF-versus-MLIP offset that no ion term should
   absorb. The other terms (GAFF, Coulomb with PPPM, the unfitted pairs) come from LAMMPS itself: every
   configuration is recomputed with ``rerun`` with the fitted pairs switched off, and the fitted pairs are
   added in numpy (checked against LAMMPS to 1e-7 relative before the fit).
5. Checks the fit on published CIFs (``--check``): a 0 K minimisation with the box free (the recipe of
   ``halide_term_ablation.py``), then NPT at the CIF's temperature (``--npt-steps``, 1 fs, aniso), each time
   counting the octahedra with ``validate``'s criterion, for the set as shipped and as fitted.

With ``--md-frames N`` each cell also gives N snapshots of a classical NPT run at ``--md-temperature``
(the set as shipped), so that the fit sees thermal motion. Nothing is written in the repository. Usage::

    python benchmarks/halide_force_matching.py --check CHA2PbBr4_173K.cif ba2pbbr4_995.cif \\
        [--pairs metal-halide halide-halide halide-N] [--params myp-pbbr-hb] [--potential sevennet+d3]

About 3 minutes of labelling and 3 minutes of fitting on 2 cores, plus 1-3 minutes per checked CIF.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from ase import units
from halide_term_ablation import (
    SCRIPT,
    atom_types,
    box_change,
    kind,
    measure,
    pair_styles,
    parametrise,
    read_system,
    run_lammps,
)
from md_sanity import read_data

from aiida_perovskite.simulation.openmm_system import read_data as data_file

KCAL = units.kcal / units.mol  # eV per kcal/mol (LAMMPS real units)
ATM = 1.01325 * units.bar  # eV/A^3 per atm
GPA = 1 / units.GPa  # GPa per eV/A^3
CUTOFF = 12.0  # the pair cut-off of the product's systems
TRAINING = {  # build arguments of forcefield_fidelity.py's built lead-bromide references
    'BAMC-PbBr4': ['--spacer', 'NC[C@H]1CC[C@H](CN)CC1', '--phase', 'dj', '--halide', 'Br'],
    'MPDA-PbBr4': ['--spacer', 'NCC(C)CCCN', '--phase', 'dj', '--halide', 'Br'],
    'BA-PbBr4': ['--name', 'BA', '--halide', 'Br'],
}
#: Physical ranges of the fitted values: Buckingham (ln A [kcal/mol], rho [A], C [kcal/mol A^6]) or
#: Lennard-Jones (epsilon [kcal/mol], sigma [A]).
BOUNDS = {
    'metal-halide': ([5.0, 0.25, 0.0], [20.0, 0.40, 1e-6]),
    'halide-halide': ([5.0, 0.35, 0.0], [20.0, 0.50, 1500.0]),
    'halide-N': ([5.0, 0.25, 0.0], [20.0, 0.40, 1e-6]),
    'halide-H(N)': ([0.01, 2.0], [0.5, 3.2]),
    'halide-H(C)': ([0.01, 2.5], [0.3, 3.6]),
    'halide-C': ([0.02, 3.0], [0.3, 4.0]),
}
#: Minimise, then NPT at a temperature (1 fs, aniso, 1 atm): the start of every MD here.
MD_START = """min_style cg
minimize 1e-10 1e-6 2000 20000
reset_timestep 0
velocity all create {temperature} {seed} mom yes rot yes dist gaussian
timestep 1.0
fix npt all npt temp {temperature} {temperature} 100.0 aniso 1.0 1.0 1000.0
"""
NPT = """include forcefield.lmp
include fitted.lmp
thermo 1000
""" + MD_START + """run {steps}
unfix npt
minimize 1e-10 1e-6 2000 20000
write_data final.lmp nocoeff
"""


def molecule_index(data: dict) -> np.ndarray:
    """The molecule (connected component of the bond graph) of each atom; an ion is its own."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    count = len(data['symbols'])
    bonds = np.asarray(data['bonds']).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(bonds)), (bonds[:, 0], bonds[:, 1])), shape=(count, count))
    return connected_components(graph, directed=False)[1]


def sample(data: dict, whole: np.ndarray, rng, rattles=(0.05, 0.1, 0.15), strains=3, amplitude=0.03) -> list:
    """The cell, its ions rattled, and strained cells with rigid whole molecules (see the module text); ``whole``
    are the positions with every molecule whole (the data file's image flags applied)."""
    from ase import Atoms

    base = Atoms(list(data['symbols']), positions=whole, cell=data['cell'], pbc=True)
    ionic = np.isin(data['symbols'], ['Pb', 'Sn', 'I', 'Br', 'Cl'])
    molecules = molecule_index(data)
    configurations = [base.copy()]
    for size in rattles:
        atoms = base.copy()
        atoms.positions[ionic] += rng.normal(0.0, size, (ionic.sum(), 3))
        configurations.append(atoms)
    for _ in range(strains):
        cell = base.cell.array @ np.diag(1 + rng.uniform(-amplitude, amplitude, 3))
        affine = base.get_scaled_positions(wrap=False) @ cell
        positions = base.positions.copy()
        positions[ionic] = affine[ionic] + rng.normal(0.0, 0.08, (ionic.sum(), 3))
        for molecule in np.unique(molecules[~ionic]):
            chosen = molecules == molecule
            positions[chosen] += (affine[chosen] - base.positions[chosen]).mean(axis=0)
        configurations.append(Atoms(list(data['symbols']), positions=positions, cell=cell, pbc=True))
    for atoms in configurations:
        atoms.wrap()
    return configurations


def md_frames(folder: pathlib.Path, data: dict, temperature: float, frames: int, seed: int) -> list:
    """Configurations from thermal motion: ``frames`` snapshots, 1 ps apart, of NPT at ``temperature`` with the set
    as shipped (after 1 ps of equilibration), as the classical model moves the cell."""
    from ase import Atoms

    if frames <= 0:
        return []
    completed = run_lammps(folder, 'include forcefield.lmp\n' + MD_START.format(temperature=temperature, seed=seed)
                       + f'run 1000\ndump frames all custom 1000 frames.dump id x y z\ndump_modify frames sort id\n'
                         f'run {1000 * frames}\n', 'md.log')
    if completed.returncode:
        raise RuntimeError(f'LAMMPS MD failed in {folder}: {completed.stdout[-500:]}')
    configurations = []
    for block in (folder / 'frames.dump').read_text().split('ITEM: TIMESTEP')[2:]:  # the first is the start
        lines = block.splitlines()
        start = lines.index(next(line for line in lines if line.startswith('ITEM: BOX BOUNDS'))) + 1
        bounds = [[float(v) for v in line.split()] for line in lines[start:start + 3]]
        (xlo_b, xhi_b, xy), (ylo_b, yhi_b, xz), (zlo, zhi, yz) = bounds
        xlo, xhi = xlo_b - min(0, xy, xz, xy + xz), xhi_b - max(0, xy, xz, xy + xz)
        ylo, yhi = ylo_b - min(0, yz), yhi_b - max(0, yz)
        cell = np.array([[xhi - xlo, 0, 0], [xy, yhi - ylo, 0], [xz, yz, zhi - zlo]])
        start = lines.index('ITEM: ATOMS id x y z') + 1
        positions = np.array([[float(v) for v in line.split()[1:]] for line in lines[start:] if line.strip()])
        atoms = Atoms(list(data['symbols']), positions=positions - [xlo, ylo, zlo], cell=cell, pbc=True)
        atoms.wrap()
        configurations.append(atoms)
    return configurations


def label(configurations: list, potential: str) -> list[dict]:
    from aiida_perovskite.mlip.potentials import load_potential

    calculator, _ = load_potential(potential)
    labels = []
    for atoms in configurations:
        atoms = atoms.copy()
        atoms.calc = calculator
        labels.append({'energy': atoms.get_potential_energy(), 'forces': atoms.get_forces(),
                       'stress': atoms.get_stress()})
    return labels


def rerun(folder: pathlib.Path, configurations: list, switched_off: str) -> list[dict]:
    """Energy (eV), forces (eV/A) and virial stress (eV/A^3, ASE sign and Voigt order) of every configuration
    from LAMMPS with the given ``pair_coeff`` lines applied."""
    with open(folder / 'configurations.dump', 'w') as dump:
        for step, atoms in enumerate(configurations):
            (lx, _, _), (xy, ly, _), (xz, yz, lz) = atoms.cell.array
            dump.write(f'ITEM: TIMESTEP\n{step}\nITEM: NUMBER OF ATOMS\n{len(atoms)}\n'
                       f'ITEM: BOX BOUNDS xy xz yz pp pp pp\n{min(0, xy, xz, xy + xz)} {lx + max(0, xy, xz, xy + xz)} {xy}\n'
                       f'{min(0, yz)} {ly + max(0, yz)} {xz}\n0 {lz} {yz}\nITEM: ATOMS id x y z\n')
            dump.writelines(f'{i + 1} {x:.8f} {y:.8f} {z:.8f}\n' for i, (x, y, z) in enumerate(atoms.positions))
    (folder / 'off.lmp').write_text(switched_off or '\n')
    completed = run_lammps(folder, 'include forcefield.lmp\ninclude off.lmp\ncompute virial all pressure NULL virial\n'
                       'thermo_style custom step pe c_virial[1] c_virial[2] c_virial[3] c_virial[4] c_virial[5] '
                       'c_virial[6]\nthermo 1\nthermo_modify format float %.12g\n'
                       'dump forces all custom 1 forces.dump id fx fy fz\ndump_modify forces sort id format float %.12g\n'
                       'rerun configurations.dump dump x y z box yes\n', 'rerun.log')
    if completed.returncode:
        raise RuntimeError(f'LAMMPS rerun failed in {folder}: {completed.stdout[-500:]}')
    rows, table = {}, False
    for line in (folder / 'rerun.log').read_text().splitlines():
        fields = line.split()
        table = table or fields[:2] == ['Step', 'PotEng']
        if table and len(fields) == 8 and all(re.fullmatch(r'[-+0-9.eE]+', value) for value in fields):
            rows[int(fields[0])] = [float(value) for value in fields[1:]]
    frames = (folder / 'forces.dump').read_text().split('ITEM: TIMESTEP')[1:]
    results = []
    for step, frame in enumerate(frames):
        lines = frame.splitlines()
        start = lines.index('ITEM: ATOMS id fx fy fz') + 1
        forces = np.array([[float(v) for v in line.split()[1:]] for line in lines[start:] if line.strip()])
        energy, *virial = rows[step]  # pxx pyy pzz pxy pxz pyz (atm)
        results.append({'energy': energy * KCAL, 'forces': forces * KCAL,
                        'stress': -ATM * np.array(virial)[[0, 1, 2, 5, 4, 3]]})
    return results


def pair_geometry(configurations: list, groups: np.ndarray, pairs: list[str]) -> list:
    from ase.neighborlist import neighbor_list

    geometry = []
    for atoms in configurations:
        i, j, d, vector = neighbor_list('ijdD', atoms, CUTOFF)
        entry = {}
        for pair in pairs:
            first, second = pair.split('-', 1)
            chosen = ((groups[i] == first) & (groups[j] == second)) | ((groups[i] == second) & (groups[j] == first))
            entry[pair] = (i[chosen], d[chosen], vector[chosen])
        geometry.append((entry, atoms.get_volume()))
    return geometry


def pair_terms(geometry: list, count: int, values: dict) -> list[dict]:
    """Energy, forces and stress (eV units, ASE conventions) of the fitted pair terms with ``values``."""
    results = []
    for entry, volume in geometry:
        energy, forces, stress = 0.0, np.zeros((count, 3)), np.zeros((3, 3))
        for pair, (i, d, vector) in entry.items():
            if len(values[pair]) == 2:  # Lennard-Jones
                epsilon, sigma = values[pair]
                s6 = (sigma / d) ** 6
                energy += 0.5 * np.sum(4 * epsilon * (s6 * s6 - s6))
                slope = 4 * epsilon * (6 * s6 - 12 * s6 * s6) / d
            else:  # Buckingham
                prefactor, rho, dispersion = values[pair]
                repulsion = prefactor * np.exp(-d / rho)
                energy += 0.5 * np.sum(repulsion - dispersion / d**6)
                slope = -repulsion / rho + 6 * dispersion / d**7
            np.add.at(forces, i, (slope / d)[:, None] * vector)
            stress += 0.5 * np.einsum('k,ka,kb->ab', slope / d, vector, vector)
        results.append({'energy': energy * KCAL, 'forces': forces * KCAL,
                        'stress': KCAL * stress[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]] / volume})
    return results


def unpack(x: np.ndarray, pairs: list[str], forms: dict) -> dict:
    values, k = {}, 0
    for pair in pairs:
        if forms[pair] == 'lj':
            values[pair] = (x[k], x[k + 1])
            k += 2
        else:
            values[pair] = (np.exp(x[k]), x[k + 1], x[k + 2])
            k += 3
    return values


def residuals(x, cells, pairs, forms, summary=False, stress_weight=0.1):
    forces, stresses, energies = [], [], []
    values = unpack(x, pairs, forms)
    for cell in cells:
        model = pair_terms(cell['geometry'], cell['count'], values)
        stress, energy = [], []
        for fitted, fixed, reference in zip(model, cell['fixed'], cell['labels']):
            forces.append(((fitted['forces'] + fixed['forces'] - reference['forces'])[cell['ionic']]).ravel())
            stress.append(GPA * (fitted['stress'] + fixed['stress'] - reference['stress']))
            energy.append(1000 * (fitted['energy'] + fixed['energy'] - reference['energy']) / cell['count'])
        stresses.append((np.array(stress) - np.mean(stress, axis=0)).ravel())
        energies.append(np.array(energy) - np.mean(energy))
    forces, stresses, energies = np.concatenate(forces), np.concatenate(stresses), np.concatenate(energies)
    if summary:
        return (f'forces on ions {np.sqrt(np.mean(forces ** 2)):.3f} eV/A, stress {np.sqrt(np.mean(stresses ** 2)):.3f}'
                f' GPa, energy {np.sqrt(np.mean(energies ** 2)):.2f} meV/atom (RMS)')
    return np.concatenate([forces, stress_weight * stresses, 0.01 * energies])


def type_groups(folder: pathlib.Path) -> dict[int, str]:
    """``{type: group}``: ``metal``, ``halide``, ``N``, ``H(N)``, ``H(C)``, ``C`` or ``other`` (the ablation's kinds)."""
    return {number: kind(text) for number, text in atom_types(folder / 'data.lmp').items()}


def type_pairs(folder: pathlib.Path, pairs) -> list[tuple[str, int, int, str, list[str]]]:
    """``(pair, i, j, style, coefficients)`` for every ``pair_coeff`` line of the system whose atom-type groups
    make one of ``pairs`` (``'metal-halide'``, ...)."""
    groups = type_groups(folder)
    return [(pair, i, j, style, numbers) for (i, j), (style, *numbers) in pair_styles(folder / 'coefficients.lmp').items()
            for pair in pairs if sorted(pair.split('-', 1)) == sorted((groups[i], groups[j]))]


def fitted_lines(folder: pathlib.Path, values: dict) -> str:
    """``pair_coeff`` lines putting ``values`` on every type pair of each fitted pair (``None``: switched off)."""
    lines = []
    for pair, i, j, style, _ in type_pairs(folder, values):
        numbers = values[pair]
        if numbers is None:
            numbers = (0.0, 1.0, 0.0) if style.startswith('buck') else (0.0, 1.0)
        lines.append(f'pair_coeff {i} {j} {style} ' + ' '.join(f'{v:.10g}' for v in numbers) + '\n')
    return ''.join(lines)


def shipped_values(folder: pathlib.Path, pairs: list[str]) -> tuple[dict, dict]:
    """The set's own values of each pair (its first type pair) and their form, ``buck`` or ``lj``."""
    values, forms = {}, {}
    for pair, _, _, style, numbers in type_pairs(folder, pairs):
        if pair not in values:
            forms[pair] = 'buck' if style.startswith('buck') else 'lj'
            values[pair] = tuple(float(v) for v in numbers[:3 if forms[pair] == 'buck' else 2])
    return values, forms


def check(cif: pathlib.Path, values: dict | None, folder: pathlib.Path, steps: int) -> str:
    """0 K box-free minimisation, then NPT at the CIF's temperature: box change and octahedra intact."""
    from aiida_perovskite.structure.cif import measurement_temperature

    temperature = (measurement_temperature(cif.read_text()) or (300.0, ''))[0]
    fitted = fitted_lines(folder, values) if values else '\n'
    (folder / 'fitted.lmp').write_text(fitted)
    (folder / 'ablation.lmp').write_text(fitted)
    labels = atom_types(folder / 'data.lmp')
    types, positions, cell = read_system(folder / 'data.lmp', labels)
    _, cutoff = measure(types, positions, cell)
    figures = []
    for name, script in (('0 K', SCRIPT), (f'NPT {temperature:g} K', NPT.format(temperature=temperature, seed=4928,
                                                                                 steps=steps))):
        (folder / 'final.lmp').unlink(missing_ok=True)
        completed = run_lammps(folder, script, 'check.log')
        if completed.returncode or not (folder / 'final.lmp').exists():
            errors = re.findall(r'^ERROR.*$', (folder / 'check.log').read_text(), re.MULTILINE)
            figures.append(f'{name}: LAMMPS failed {errors[:1]}')
            continue
        types_f, positions_f, cell_f = read_system(folder / 'final.lmp', labels)
        result, _ = measure(types_f, positions_f, cell_f, cutoff)
        change, volume = box_change(cell, cell_f)
        figures.append(f'{name}: abc {change[0]:+.1f}/{change[1]:+.1f}/{change[2]:+.1f} %, V {volume:+.1f} %, '
                       f'octahedra {result["intact"]}/{result["metals"]}')
    return '; '.join(figures)


def main(arguments) -> int:
    tick = time.perf_counter()
    pairs = arguments.pairs
    unknown = [pair for pair in pairs if pair not in BOUNDS]
    if unknown:
        print(f'no bounds for {unknown}; known pairs: {", ".join(BOUNDS)}')
        return 1
    root = pathlib.Path(tempfile.mkdtemp(prefix='aiida-perovskite-force-matching-'))
    cli = str(pathlib.Path(sys.executable).with_name('aiida-perovskite'))
    rng = np.random.default_rng(arguments.seed)
    try:
        cells = []
        training = {**TRAINING, **{f'extra{k}-{arguments.halide}': ['--spacer', smiles, '--phase', 'rp', '--halide',
                                                                     arguments.halide]
                                   for k, smiles in enumerate(arguments.extra_spacers)}}
        for name, build in training.items():
            folder = root / name
            folder.mkdir()
            cif = folder / f'{name}.cif'
            subprocess.run([cli, 'build', *build, '-o', str(cif)], check=True, capture_output=True)
            if not parametrise(cif, arguments.params, 'formal', folder, supercell=False):
                return 1
            data = read_data(folder / 'data.lmp')
            whole = data_file((folder / 'data.lmp').read_text()).unwrapped  # molecules whole by image flags
            configurations = sample(data, whole, rng) + md_frames(folder, data, arguments.md_temperature, arguments.md_frames,
                                                            arguments.seed)
            values, forms = shipped_values(folder, pairs)
            groups = type_groups(folder)
            cells.append({'name': name, 'count': len(configurations[0]), 'labels': label(configurations, arguments.potential),
                          'fixed': rerun(folder, configurations, fitted_lines(folder, dict.fromkeys(pairs))),
                          'geometry': pair_geometry(configurations, np.array([groups[t] for t in data['types']]), pairs),
                          'ionic': np.isin(data['symbols'], ['Pb', 'Sn', 'I', 'Br', 'Cl'])})
            print(f'{name}: {cells[-1]["count"]} atoms, {len(configurations)} configurations labelled with '
                  f'{arguments.potential} ({time.perf_counter() - tick:.0f} s)', flush=True)
        from scipy.optimize import least_squares

        start = np.concatenate([[values[p][0], values[p][1]] if forms[p] == 'lj' else
                                [np.log(values[p][0]), values[p][1], values[p][2]] for p in pairs])
        low, high = (np.concatenate([BOUNDS[p][k] for p in pairs]) for k in (0, 1))
        start = np.clip(start, low + 1e-9, high - 1e-9)
        print(f'as shipped ({arguments.params}): {residuals(start, cells, pairs, forms, summary=True)}')
        fit = least_squares(residuals, start, bounds=(low, high), args=(cells, pairs, forms, False, arguments.stress_weight),
                            x_scale='jac', loss='soft_l1', f_scale=0.5)
        fitted = unpack(fit.x, pairs, forms)
        print(f'fitted: {residuals(fit.x, cells, pairs, forms, summary=True)} ({time.perf_counter() - tick:.0f} s)')
        offset = 0
        for pair in pairs:
            names = ('epsilon', 'sigma') if forms[pair] == 'lj' else ('A', 'rho', 'C')
            span = slice(offset, offset + len(names))
            offset += len(names)
            at_bound = [name for value, lo, hi, name in zip(fit.x[span], low[span], high[span], names)
                        if hi - lo > 1e-3 and (np.isclose(value, lo, atol=1e-6) or np.isclose(value, hi, atol=1e-6))]
            print(f'  {pair}: {" ".join(f"{v:.6g}" for v in values[pair])} -> {" ".join(f"{v:.6g}" for v in fitted[pair])}'
                  + (f' (at a bound: {", ".join(at_bound)})' if at_bound else ''))
        for cif in arguments.check:
            folder = root / f'check-{cif.stem}'
            folder.mkdir()
            if not parametrise(cif, arguments.params, 'formal', folder, supercell=True):
                continue
            for tag, chosen in (('as shipped', None), ('fitted', fitted)):
                print(f'{cif.name} {tag}: {check(cif, chosen, folder, arguments.npt_steps)}', flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f'{time.perf_counter() - tick:.0f} s in all')
    return 0


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--check', nargs='*', type=pathlib.Path, default=[], help='published CIFs to check the fit on')
    parser.add_argument('--pairs', nargs='+', default=['metal-halide', 'halide-halide', 'halide-N'],
                        help=f'pair terms to fit (default: %(default)s; known: {", ".join(BOUNDS)})')
    parser.add_argument('--params', default='myp-pbbr-hb', help='parameter set fitted from (default: %(default)s)')
    parser.add_argument('--potential', default='sevennet+d3', help='MLIP reference (default: %(default)s)')
    parser.add_argument('--npt-steps', type=int, default=10000, help='NPT steps of the check (default: %(default)s)')
    parser.add_argument('--md-frames', type=int, default=0,
                        help='also train on this many NPT snapshots per cell, 1 ps apart (default: %(default)s)')
    parser.add_argument('--md-temperature', type=float, default=300.0, help='their temperature (K; default: %(default)s)')
    parser.add_argument('--stress-weight', type=float, default=0.1,
                        help='weight of a 1 GPa stress residual against 1 eV/A of force (default: %(default)s)')
    parser.add_argument('--extra-spacers', nargs='*', default=[], metavar='SMILES',
                        help='also train on the builder\'s RP cells of these spacers (e.g. one whose published cell '
                             'tears, so that its MD snapshots show the fit what tearing costs; the published cell '
                             'stays out)')
    parser.add_argument('--halide', default='Br', help='of the --extra-spacers cells (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=1)
    sys.exit(main(parser.parse_args()))
