"""An OpenMM ``System`` from the project's own LAMMPS files, with the physics LAMMPS computes on them.

The input is what :class:`~aiida_perovskite.forcefield.lammps.LammpsSystem` writes and every LAMMPS segment
reads: ``forcefield.lmp`` (the styles, ``read_data`` and ``include`` of the pair coefficients), the data
file (``atom_style full``, ``units real``, a triclinic box, image flags) and ``coefficients.lmp``
(``pair_coeff`` lines). Nothing comes from the prmtop or the parameter set: the OpenMM system is what LAMMPS
runs, term by term.

* Coulomb: PME in a ``NonbondedForce`` (charges from the data file, Lennard-Jones zeroed there), the
  pair style's cut-off for the real-space part, no dispersion correction.
* Pair terms: Buckingham ``A exp(-r/rho) - C/r^6`` and Lennard-Jones ``4 eps ((s/r)^12 - (s/r)^6)``,
  per type pair from the ``pair_coeff`` lines, in one ``CustomNonbondedForce`` with ``Discrete2DFunction``
  tables by type: a plain cut (``CutoffPeriodic``, no switch, no shift, no tail correction), as LAMMPS'
  ``buck/coul/long`` and ``lj/cut/coul/long`` have it.
* ``special_bonds``: LAMMPS finds 1-2, 1-3 and 1-4 neighbours in the bond graph (the nearest relation wins
  for a pair reached two ways). A pair whose factor is not 1 is excluded from both nonbonded forces; a
  Coulomb factor is a ``NonbondedForce`` exception with the scaled charge product (OpenMM, like LAMMPS,
  removes the pair's reciprocal-space part), a pair factor between 0 and 1 a ``CustomBondForce`` term with
  the pair's own coefficients (any style) times the factor, cut at the cut-off as LAMMPS' pair loop is.
* Bonded: ``bond_style``/``angle_style harmonic`` (``E = K (x - x0)^2``, so OpenMM's ``k = 2 K``),
  ``dihedral_style fourier`` (``E = sum K_i [1 + cos(n_i phi - d_i)]``) and ``improper_style cvff``
  (``E = K [1 + d cos(n phi)]``, phi the i-j-k-l dihedral, as OpenMM's) as ``PeriodicTorsionForce`` terms.

Forces go into the groups of :data:`FORCE_GROUPS`, so each component can be compared with LAMMPS' thermo
keywords. Bonded forces use periodic boundary conditions, so wrapped positions give the same energy.

:func:`write_data` goes the other way: a data file with new coordinates and a new box, for LAMMPS.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import openmm

__all__ = ('FORCE_GROUPS', 'DataFile', 'LammpsInputError', 'OpenmmSystem', 'build_system', 'hydrogen_bond_count',
           'lammps_frame', 'read_data', 'reduced_box', 'write_data')

KCAL = 4.184  # kJ per kcal (LAMMPS real units use the thermochemical calorie)
#: The force group of each energy component, named as LAMMPS thermo output is summed in the tests:
#: torsion = edihed + eimp, vdw = evdwl (pair terms with their 1-4 part), coulomb = ecoul + elong.
FORCE_GROUPS = {'bond': 0, 'angle': 1, 'torsion': 2, 'vdw': 3, 'coulomb': 4}
#: ``fix shake ... m 1.1``: a bond with an atom lighter than this (amu) is a hydrogen bond.
HYDROGEN_MASS = 1.1
#: ``special_bonds amber``: (1-2, 1-3, 1-4) factors for the pair terms and for Coulomb.
AMBER_SPECIAL = {'lj': (0.0, 0.0, 0.5), 'coul': (0.0, 0.0, 5.0 / 6.0)}
#: Pair styles and their coefficients (beyond ``i j``); a trailing per-pair cut-off is not supported.
PAIR_STYLES = {'buck/coul/long': ('A', 'rho', 'C'), 'lj/cut/coul/long': ('epsilon', 'sigma'), 'coul/long': ()}
#: Commands of ``forcefield.lmp`` that do not change the energy.
HARMLESS_COMMANDS = {'boundary', 'neighbor', 'neigh_modify', 'comm_modify', 'timestep', 'thermo', 'thermo_style',
                     'thermo_modify', 'processors', 'newton', 'atom_modify', 'kspace_modify', 'variable', 'log'}
_SECTIONS = ('Masses', 'Atoms', 'Velocities', 'Bonds', 'Angles', 'Dihedrals', 'Impropers', 'Bond Coeffs',
             'Angle Coeffs', 'Dihedral Coeffs', 'Improper Coeffs', 'Pair Coeffs', 'PairIJ Coeffs')


class LammpsInputError(ValueError):
    """The LAMMPS files use a style, command or layout this builder does not translate."""


@dataclasses.dataclass
class OpenmmSystem:
    """The OpenMM system of a LAMMPS input and the state it was written with."""

    system: openmm.System  # all forces, periodic, no barostat, no constraints
    #: (N, 3) nm, unwrapped with the image flags (molecules whole), in atom-id order.
    positions: np.ndarray
    #: (3, 3) nm, rows a, b, c, in OpenMM's reduced form.
    box: np.ndarray
    #: (N,) amu.
    masses: np.ndarray
    #: (heavy index, hydrogen index, r0 in nm) of each bond with an atom lighter than 1.1 amu.
    hydrogen_bonds: list[tuple[int, int, float]]
    #: Angstrom, from ``pair_style``.
    cutoff: float
    n_atoms: int
    #: The data file read (its name in the folder): the template of :func:`write_data`.
    data_file: str = 'data.lmp'


@dataclasses.dataclass
class DataFile:
    """What a LAMMPS data file (``atom_style full``) holds, atoms in id order, indices 0-based."""

    box: np.ndarray  # (3, 3) Angstrom, rows a, b, c (LAMMPS' lower-triangular frame)
    origin: np.ndarray  # (3,) xlo, ylo, zlo
    ids: np.ndarray  # (N,) atom ids, sorted
    types: np.ndarray  # (N,) 1-based atom types
    charges: np.ndarray  # (N,)
    positions: np.ndarray  # (N, 3) Angstrom, as written (wrapped)
    images: np.ndarray  # (N, 3) image flags
    type_masses: dict[int, float]
    coefficients: dict[str, dict[int, list[float]]]  # section ('Bond', 'Angle', ...) -> type -> values
    topology: dict[str, list[tuple[int, ...]]]  # 'Bonds', ... -> (type, 0-based atoms...)

    @property
    def unwrapped(self) -> np.ndarray:
        return self.positions + self.images @ self.box


def hydrogen_bonds(data: DataFile) -> list[tuple[int, int, int]]:
    """``(bond type, heavy index, light index)`` of each bond with an atom lighter than :data:`HYDROGEN_MASS`:
    what ``fix shake ... m 1.1`` (and OpenMM's constraints of a ``shake`` ladder) hold rigid."""
    masses = [data.type_masses[int(kind)] for kind in data.types]
    return [(kind, i, j) if masses[i] >= masses[j] else (kind, j, i)
            for kind, i, j in data.topology.get('Bonds', []) if min(masses[i], masses[j]) < HYDROGEN_MASS]


def hydrogen_bond_count(data: DataFile) -> int:
    """How many bonds a ``shake`` ladder holds rigid (one constraint each)."""
    return len(hydrogen_bonds(data))


def read_data(text: str) -> DataFile:
    """Parse a LAMMPS data file with ``atom_style full`` (the project's or LAMMPS' own ``write_data``)."""
    bounds, tilt = {}, (0.0, 0.0, 0.0)
    sections: dict[str, list[list[str]]] = {}
    section = None
    for line in text.splitlines()[1:]:  # the first line is a title
        content = line.split('#')[0].strip()
        if not content:
            continue
        if re.fullmatch(r'[A-Z][A-Za-z ]*', content):  # a section header
            if content not in _SECTIONS:
                raise LammpsInputError(f'the data-file section {content!r} is not translated')
            section = content
            sections[section] = []
            continue
        fields = content.split()
        if section is None:
            if fields[-2:] in (['xlo', 'xhi'], ['ylo', 'yhi'], ['zlo', 'zhi']):
                bounds[fields[-2][0]] = (float(fields[0]), float(fields[1]))
            elif fields[-3:] == ['xy', 'xz', 'yz']:
                tilt = tuple(float(value) for value in fields[:3])
            continue
        sections[section].append(fields)
    if set(bounds) != {'x', 'y', 'z'}:
        raise LammpsInputError('the data file has no complete box (xlo xhi, ylo yhi, zlo zhi)')
    (xlo, xhi), (ylo, yhi), (zlo, zhi) = bounds['x'], bounds['y'], bounds['z']
    xy, xz, yz = tilt
    box = np.array([[xhi - xlo, 0, 0], [xy, yhi - ylo, 0], [xz, yz, zhi - zlo]])

    rows = sorted(sections.get('Atoms', []), key=lambda fields: int(fields[0]))
    if not rows:
        raise LammpsInputError('the data file has no Atoms')
    if any(len(fields) not in (7, 10) for fields in rows):
        raise LammpsInputError('Atoms rows must be "id molecule type q x y z [ix iy iz]" (atom_style full)')
    ids = np.array([int(fields[0]) for fields in rows])
    index = {atom_id: i for i, atom_id in enumerate(ids)}
    images = np.array([[int(v) for v in fields[7:10]] if len(fields) == 10 else [0, 0, 0] for fields in rows])
    topology = {}
    for name in ('Bonds', 'Angles', 'Dihedrals', 'Impropers'):
        topology[name] = [(int(fields[1]), *(index[int(atom)] for atom in fields[2:])) for fields in
                          sections.get(name, [])]
    coefficients = {}
    for name in ('Bond', 'Angle', 'Dihedral', 'Improper'):
        coefficients[name] = {int(fields[0]): [float(v) for v in fields[1:]]
                              for fields in sections.get(f'{name} Coeffs', [])}
    return DataFile(
        box=box,
        origin=np.array([xlo, ylo, zlo]),
        ids=ids,
        types=np.array([int(fields[2]) for fields in rows]),
        charges=np.array([float(fields[3]) for fields in rows]),
        positions=np.array([[float(v) for v in fields[4:7]] for fields in rows]),
        images=images.reshape(-1, 3),
        type_masses={int(fields[0]): float(fields[1]) for fields in sections.get('Masses', [])},
        coefficients=coefficients,
        topology=topology,
    )


@dataclasses.dataclass
class _Settings:
    """What ``forcefield.lmp`` (and the files it includes) sets."""

    styles: dict[str, str] = dataclasses.field(default_factory=dict)
    pair_styles: dict[str, float] = dataclasses.field(default_factory=dict)  # sub-style -> cut-off
    special: dict[str, tuple[float, float, float]] = dataclasses.field(
        default_factory=lambda: {'lj': (0.0, 0.0, 0.0), 'coul': (0.0, 0.0, 0.0)})
    data_file: str | None = None
    kspace: str | None = None
    pair_coeffs: list[list[str]] = dataclasses.field(default_factory=list)
    included: list[str] = dataclasses.field(default_factory=list)


def _read_commands(text: str, settings: _Settings, folder: pathlib.Path, follow_includes: bool) -> None:
    for line in text.splitlines():
        fields = line.split('#')[0].split()
        if not fields:
            continue
        command, args = fields[0], fields[1:]
        if command == 'units':
            if args != ['real']:
                raise LammpsInputError(f'units {" ".join(args)}: only units real is translated')
        elif command == 'atom_style':
            if args != ['full']:
                raise LammpsInputError(f'atom_style {" ".join(args)}: only atom_style full is translated')
        elif command in ('bond_style', 'angle_style', 'dihedral_style', 'improper_style'):
            settings.styles[command] = ' '.join(args)
        elif command == 'pair_style':
            settings.pair_styles = _pair_styles(args)
        elif command == 'special_bonds':
            settings.special = _special_bonds(args, settings.special)
        elif command == 'read_data':
            settings.data_file = args[0]
        elif command == 'include':
            settings.included.append(args[0])
            if follow_includes:
                _read_commands((folder / args[0]).read_text(), settings, folder, follow_includes)
        elif command == 'pair_coeff':
            settings.pair_coeffs.append(args)
        elif command == 'kspace_style':
            settings.kspace = args[0]
        elif command == 'pair_modify':
            raise LammpsInputError(f'pair_modify {" ".join(args)} is not translated (plain cut-off only)')
        elif command not in HARMLESS_COMMANDS:
            raise LammpsInputError(f'the command {command!r} is not translated')


def _pair_styles(args: list[str]) -> dict[str, float]:
    if args[:1] == ['hybrid'] or args[:1] == ['hybrid/overlay']:
        if args[0] == 'hybrid/overlay':
            raise LammpsInputError('pair_style hybrid/overlay is not translated')
        args = args[1:]
    styles, position = {}, 0
    while position < len(args):
        style = args[position]
        if style not in PAIR_STYLES:
            raise LammpsInputError(f'pair style {style!r} is not translated (only {", ".join(PAIR_STYLES)})')
        cut = [float(value) for value in args[position + 1:position + 3] if _is_number(value)]
        if len(cut) != 1:
            raise LammpsInputError(f'pair style {style}: give one global cut-off for pairs and Coulomb')
        styles[style] = cut[0]
        position += 2
    if len(set(styles.values())) != 1:
        raise LammpsInputError(f'the pair styles have different cut-offs: {styles}')
    return styles


def _special_bonds(args: list[str], current: dict) -> dict:
    special = dict(current)
    position = 0
    while position < len(args):
        keyword = args[position]
        if keyword == 'amber':
            special = dict(AMBER_SPECIAL)
            position += 1
        elif keyword == 'lj/coul':
            special['lj'] = special['coul'] = tuple(float(v) for v in args[position + 1:position + 4])
            position += 4
        elif keyword in ('lj', 'coul'):
            special[keyword] = tuple(float(v) for v in args[position + 1:position + 4])
            position += 4
        else:
            raise LammpsInputError(f'special_bonds {keyword} is not translated')
    return special


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _pair_table(pair_coeffs: list[list[str]], pair_styles: dict[str, float], n_types: int) -> np.ndarray:
    """(n_types, n_types, 5): A (kcal/mol), 1/rho (1/Angstrom), C (kcal/mol A^6), epsilon, sigma per type pair."""
    table = np.zeros((n_types, n_types, 5))
    seen = np.zeros((n_types, n_types), dtype=bool)
    hybrid = len(pair_styles) > 1
    for args in pair_coeffs:
        if '*' in args[0] or '*' in args[1]:
            raise LammpsInputError(f'pair_coeff {" ".join(args)}: wildcards are not translated')
        i, j = int(args[0]) - 1, int(args[1]) - 1
        values = args[2:]
        if hybrid or (values and values[0] in PAIR_STYLES):
            style, values = values[0], values[1:]
        else:
            (style,) = pair_styles
        if style not in pair_styles:
            raise LammpsInputError(f'pair_coeff {" ".join(args)}: style {style} is not in pair_style')
        names = PAIR_STYLES[style]
        if len(values) != len(names):
            raise LammpsInputError(f'pair_coeff {" ".join(args)}: {style} takes {", ".join(names) or "nothing"} '
                                   '(no per-pair cut-off)')
        row = np.zeros(5)
        if style == 'buck/coul/long':
            A, rho, C = map(float, values)
            row[:3] = A, 1 / rho, C
        elif style == 'lj/cut/coul/long':
            row[3:] = [float(value) for value in values]
        table[i, j] = table[j, i] = row
        seen[i, j] = seen[j, i] = True
    missing = [(int(i) + 1, int(j) + 1) for i, j in zip(*np.nonzero(~seen)) if i <= j]
    if missing:
        raise LammpsInputError(f'pair coefficients are missing for type pairs {missing[:10]}'
                               f'{" ..." if len(missing) > 10 else ""}')
    return table


def _special_pairs(n_atoms: int, bonds: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """``{(i, j): 1, 2 or 3}`` (i < j): 1-2, 1-3 and 1-4 neighbours in the bond graph, the nearest relation
    kept for a pair reached two ways (as LAMMPS' special lists)."""
    neighbours = [set() for _ in range(n_atoms)]
    for i, j in bonds:
        neighbours[i].add(j)
        neighbours[j].add(i)
    special = {}
    for start in range(n_atoms):
        if not neighbours[start]:
            continue
        seen, shell = {start}, {start}
        for level in (1, 2, 3):
            shell = {k for atom in shell for k in neighbours[atom]} - seen
            seen |= shell
            for other in shell:
                if other > start:
                    special[(start, other)] = level
    return special


def reduced_box(box: np.ndarray) -> np.ndarray:
    """A lower-triangular box (rows a, b, c) in OpenMM's reduced form: whole lower vectors subtracted so that
    ``|b_x| <= a_x/2``, ``|c_x| <= a_x/2`` and ``|c_y| <= b_y/2`` (the same periodic lattice)."""
    box = np.array(box, dtype=float)
    box[2] -= box[1] * round(box[2, 1] / box[1, 1])
    box[2] -= box[0] * round(box[2, 0] / box[0, 0])
    box[1] -= box[0] * round(box[1, 0] / box[0, 0])
    return box


def build_system(folder: pathlib.Path, ewald_tolerance: float, forcefield_file: str = 'forcefield.lmp',
                 data_file: str | None = None, coefficients_file: str | None = None) -> OpenmmSystem:
    """The OpenMM system of the LAMMPS input in ``folder`` (see the module's description).

    :param ewald_tolerance: OpenMM's Ewald error tolerance for PME (the LAMMPS PPPM accuracy is not read).
    :param data_file: the data file; by default the one ``forcefield.lmp`` names in ``read_data``.
    :param coefficients_file: the ``pair_coeff`` lines; by default the files ``forcefield.lmp`` includes
        (and any ``pair_coeff`` lines in it).
    :raises LammpsInputError: a style, command or layout that is not translated.
    """
    import openmm

    folder = pathlib.Path(folder)
    settings = _Settings()
    _read_commands((folder / forcefield_file).read_text(), settings, folder, follow_includes=coefficients_file is None)
    if coefficients_file is not None:
        _read_commands((folder / coefficients_file).read_text(), settings, folder, follow_includes=True)
    expected = {'bond_style': 'harmonic', 'angle_style': 'harmonic', 'dihedral_style': 'fourier',
                'improper_style': 'cvff'}
    for command, style in settings.styles.items():
        if style != expected[command]:
            raise LammpsInputError(f'{command} {style}: only {expected[command]} is translated')
    if not settings.pair_styles:
        raise LammpsInputError('forcefield.lmp sets no pair_style')
    if settings.kspace not in ('pppm', 'ewald'):
        raise LammpsInputError('long-range Coulomb needs kspace_style pppm or ewald')
    data_name = data_file or settings.data_file
    if data_name is None:
        raise LammpsInputError('forcefield.lmp reads no data file and none was given')
    data = read_data((folder / data_name).read_text())
    cutoff = next(iter(settings.pair_styles.values()))
    n_atoms = len(data.ids)
    n_types = max(max(data.type_masses), int(data.types.max()))
    pairs = _pair_table(settings.pair_coeffs, settings.pair_styles, n_types)
    if set(data.types.tolist()) - set(data.type_masses):
        raise LammpsInputError('the data file has no mass for atom types '
                               f'{sorted(set(data.types.tolist()) - set(data.type_masses))}')
    masses = np.array([data.type_masses[kind] for kind in data.types])
    types = data.types - 1

    system = openmm.System()
    for mass in masses:
        system.addParticle(mass)
    box = reduced_box(data.box)
    system.setDefaultPeriodicBoxVectors(*(openmm.Vec3(*(row * 0.1)) for row in box))

    # Bonded terms, converted to kJ/mol and nm.
    bond_force, angle_force, torsion_force = (openmm.HarmonicBondForce(), openmm.HarmonicAngleForce(),
                                              openmm.PeriodicTorsionForce())
    for kind, i, j in data.topology['Bonds']:
        k, r0 = data.coefficients['Bond'][kind]
        bond_force.addBond(i, j, r0 * 0.1, 2 * k * KCAL * 100)
    constrained = [(heavy, light, data.coefficients['Bond'][kind][1] * 0.1)
                   for kind, heavy, light in hydrogen_bonds(data)]
    for kind, i, j, k in data.topology['Angles']:
        K, theta0 = data.coefficients['Angle'][kind]
        angle_force.addAngle(i, j, k, math.radians(theta0), 2 * K * KCAL)
    for kind, *atoms in data.topology['Dihedrals']:
        values = data.coefficients['Dihedral'][kind]
        m = int(values[0])
        if len(values) != 1 + 3 * m:
            raise LammpsInputError(f'dihedral type {kind}: fourier takes m and m triples K n d, got {values}')
        for K, n, d in zip(values[1::3], values[2::3], values[3::3]):
            if int(n) < 1:
                raise LammpsInputError(f'dihedral type {kind}: a fourier term with n = {n} is not translated')
            torsion_force.addTorsion(*atoms, int(n), math.radians(d), K * KCAL)
    for kind, *atoms in data.topology['Impropers']:
        K, d, n = data.coefficients['Improper'][kind]
        if int(d) not in (1, -1) or int(n) < 1:
            raise LammpsInputError(f'improper type {kind}: cvff needs d = +-1 and n >= 1, got {d} {n}')
        torsion_force.addTorsion(*atoms, int(n), 0.0 if int(d) == 1 else math.pi, K * KCAL)

    # Coulomb: PME, and the pair terms as a plain cut, both with the special_bonds factors.
    coulomb = openmm.NonbondedForce()
    coulomb.setNonbondedMethod(openmm.NonbondedForce.PME)
    coulomb.setCutoffDistance(cutoff * 0.1)
    coulomb.setEwaldErrorTolerance(ewald_tolerance)
    coulomb.setUseDispersionCorrection(False)
    coulomb.setUseSwitchingFunction(False)
    for charge in data.charges:
        coulomb.addParticle(float(charge), 0.1, 0.0)
    # Tables in OpenMM units: A and epsilon kJ/mol, 1/rho 1/nm, C kJ/mol nm^6, sigma nm.
    units = np.array([KCAL, 10.0, KCAL * 1e-6, KCAL, 0.1])
    table = pairs * units
    pair_energy = 'A*exp(-r*B) - C/r^6 + 4*eps*((sig/r)^12 - (sig/r)^6)'
    vdw = openmm.CustomNonbondedForce(
        f'{pair_energy}; A = tA(t1, t2); B = tB(t1, t2); C = tC(t1, t2); eps = tEps(t1, t2); sig = tSig(t1, t2)')
    for column, name in enumerate(('tA', 'tB', 'tC', 'tEps', 'tSig')):
        # Discrete2DFunction values are x + n*y; the tables are symmetric.
        vdw.addTabulatedFunction(name, openmm.Discrete2DFunction(n_types, n_types,
                                                                 table[:, :, column].T.ravel().tolist()))
    vdw.addPerParticleParameter('t')
    vdw.setNonbondedMethod(openmm.CustomNonbondedForce.CutoffPeriodic)
    vdw.setCutoffDistance(cutoff * 0.1)
    vdw.setUseSwitchingFunction(False)
    vdw.setUseLongRangeCorrection(False)
    for kind in types:
        vdw.addParticle([float(kind)])
    scaled_pairs = openmm.CustomBondForce(f'step({cutoff * 0.1} - r)*f*({pair_energy})')
    for name in ('f', 'A', 'B', 'C', 'eps', 'sig'):
        scaled_pairs.addPerBondParameter(name)
    bonds = [(i, j) for _, i, j in data.topology['Bonds']]
    for (i, j), level in sorted(_special_pairs(n_atoms, bonds).items()):
        f_lj, f_coul = settings.special['lj'][level - 1], settings.special['coul'][level - 1]
        if f_lj == 1.0 and f_coul == 1.0:
            continue
        coulomb.addException(i, j, f_coul * data.charges[i] * data.charges[j], 0.1, 0.0)
        vdw.addExclusion(i, j)
        row = table[types[i], types[j]]
        if f_lj and (row[0] or row[2] or row[3]):
            scaled_pairs.addBond(i, j, [f_lj, *row])

    groups = {'bond': [bond_force], 'angle': [angle_force], 'torsion': [torsion_force],
              'vdw': [vdw, scaled_pairs], 'coulomb': [coulomb]}
    for name, forces in groups.items():
        for force in forces:
            force.setForceGroup(FORCE_GROUPS[name])
            if hasattr(force, 'setUsesPeriodicBoundaryConditions'):
                force.setUsesPeriodicBoundaryConditions(True)
            system.addForce(force)
    return OpenmmSystem(
        system=system,
        positions=data.unwrapped * 0.1,
        box=box * 0.1,
        masses=masses,
        hydrogen_bonds=constrained,
        cutoff=cutoff,
        n_atoms=n_atoms,
        data_file=data_name,
    )


def lammps_frame(box_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LAMMPS' restricted triclinic frame of a box (rows a, b, c; a along x, b in the xy plane), reduced so
    that the tilt factors are within LAMMPS' limits: ``(frame, rotation)`` with ``x_frame = x @ rotation``."""
    from aiida_perovskite.forcefield.lammps import lammps_box

    box_vectors = np.asarray(box_vectors, dtype=float)
    frame, _ = lammps_box(box_vectors)
    rotation = np.linalg.solve(box_vectors, frame)  # x @ inv(box) @ frame
    return reduced_box(frame), rotation


def write_data(template: str, positions_angstrom: np.ndarray, box_vectors_angstrom: np.ndarray) -> str:
    """``template`` (a data file's text) with new coordinates and a new box.

    The box (rows a, b, c, any orientation) goes to LAMMPS' restricted triclinic frame, reduced (the same
    lattice) so the tilt factors are within LAMMPS' limits; the positions (atom-id order, Angstrom, in the
    frame of ``box_vectors_angstrom``) turn with it and are wrapped into the box, their image flags set so
    that the unwrapped positions are the ones given (molecules stay whole). The box origin is 0. A
    Velocities section is dropped (it belongs to the old coordinates); everything else is kept verbatim.
    """
    positions = np.asarray(positions_angstrom, dtype=float)
    frame, rotation = lammps_frame(box_vectors_angstrom)
    positions = positions @ rotation
    fractional = positions @ np.linalg.inv(frame)
    images = np.floor(fractional).astype(int)
    wrapped = (fractional - images) @ frame

    lines = template.splitlines()
    out, section, atom_rows = [], None, {}
    for number, line in enumerate(lines):
        content = line.split('#')[0].strip()
        fields = content.split()
        name = next((s for s in _SECTIONS if content == s), None)
        if name is not None:
            section = name
            if section == 'Velocities':
                continue
            out.append(line)
            continue
        if section is None and number > 0:
            if fields[-2:] in (['xlo', 'xhi'], ['ylo', 'yhi'], ['zlo', 'zhi']):
                axis = 'xyz'.index(fields[-2][0])
                out.append(f'0.0 {frame[axis, axis]:.10f} {fields[-2]} {fields[-1]}')
                has_tilt = any(other.split('#')[0].split()[-3:] == ['xy', 'xz', 'yz'] for other in lines)
                if axis == 2 and not has_tilt and (frame[1, 0] or frame[2, 0] or frame[2, 1]):
                    out.append(f'{frame[1, 0]:.10f} {frame[2, 0]:.10f} {frame[2, 1]:.10f} xy xz yz')
                continue
            if fields[-3:] == ['xy', 'xz', 'yz']:
                out.append(f'{frame[1, 0]:.10f} {frame[2, 0]:.10f} {frame[2, 1]:.10f} xy xz yz')
                continue
        if section == 'Velocities':
            continue
        if section == 'Atoms' and fields:
            atom_rows[int(fields[0])] = len(out)
        out.append(line)
    if len(atom_rows) != len(positions):
        raise ValueError(f'{len(positions)} positions for a data file of {len(atom_rows)} atoms')
    for index, atom_id in enumerate(sorted(atom_rows)):
        row = atom_rows[atom_id]
        fields = out[row].split('#')[0].split()
        x, y, z = wrapped[index]
        ix, iy, iz = images[index]
        out[row] = (f'{" ".join(fields[:4])} {x:.8f} {y:.8f} {z:.8f} {ix} {iy} {iz}')
    return '\n'.join(out) + '\n'

