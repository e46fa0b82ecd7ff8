"""LAMMPS data and force-field files from a ParmEd structure (the GAFF spacers) plus inorganic ions.

Conventions, each checked against OpenMM on the same prmtop in the tests:

* ``units real``, ``atom_style full``; AMBER terms map to ``bond_style harmonic``,
  ``angle_style harmonic``, ``dihedral_style fourier`` (all periodic terms of one
  dihedral in one entry) and ``improper_style cvff``; ``special_bonds amber``
  (1-4 Lennard-Jones x 1/2, Coulomb x 1/1.2).
* Organic Lennard-Jones pairs are written out explicitly with AMBER's arithmetic
  (Lorentz-Berthelot) mixing; LAMMPS would mix geometrically by default.
* Ion-ion and ion-organic pairs come from a :class:`.ParameterSet`: Buckingham
  (``buck/coul/long``) or Lennard-Jones (ion-H), Coulomb everywhere.
* The cell is kept triclinic: LAMMPS' restricted frame (a along x, b in the xy
  plane) with the tilt factors of the crystal's own lattice; positions are
  wrapped into the box and image flags keep each molecule whole.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from .charges import ChargeModel, parse_charge_model
from .parameter_sets import ForceFieldError, ParameterSet

__all__ = ('LammpsSystem', 'build_system', 'lammps_box', 'auto_replication', 'layer_replication', 'resolve_replication')

_ROUND = 8  # digits used to recognise identical bonded parameters


@dataclasses.dataclass
class LammpsType:
    label: str
    mass: float
    element: str
    #: For an organic type: (epsilon, sigma); ``None`` for an ion.
    lj: tuple[float, float] | None
    #: For a hydrogen: the element it is bonded to.
    bonded_to: str | None = None


@dataclasses.dataclass
class LammpsSystem:
    """Everything a LAMMPS data file and its force-field settings need, already replicated."""

    box: tuple[float, float, float, float, float, float]  # lx, ly, lz, xy, xz, yz
    types: list[LammpsType]
    atoms: list[tuple[int, int, float, np.ndarray, np.ndarray]]  # molecule, type (1-based), charge, xyz, image
    bond_types: list[tuple[float, float]]
    bonds: list[tuple[int, int, int]]
    angle_types: list[tuple[float, float]]
    angles: list[tuple[int, int, int, int]]
    dihedral_types: list[tuple[tuple[float, int, float], ...]]
    dihedrals: list[tuple[int, int, int, int, int]]
    improper_types: list[tuple[float, int, int]]
    impropers: list[tuple[int, int, int, int, int]]
    parameter_set: ParameterSet | None
    policy: str
    assumptions: list[str]
    replication: tuple[int, int, int]
    #: The charge model, the charge of each ion element and the factor on every organic charge.
    charge_model: ChargeModel = ChargeModel('formal')
    ion_charges: dict[str, float] = dataclasses.field(default_factory=dict)
    organic_charge_scale: float = 1.0

    @property
    def net_charge(self) -> float:
        return float(sum(atom[2] for atom in self.atoms))

    def pair_coefficients(self, coulomb: str = 'long') -> list[tuple[int, int, str, tuple[float, ...]]]:
        """``(i, j, style, coefficients)`` for every type pair ``i <= j``."""
        lj_style = f'lj/cut/coul/{coulomb}'
        buck_style = f'buck/coul/{coulomb}'
        pairs = []
        for (i, a), (j, b) in itertools.combinations_with_replacement(enumerate(self.types, start=1), 2):
            if a.lj is not None and b.lj is not None:
                epsilon = float(np.sqrt(a.lj[0] * b.lj[0]))
                sigma = (a.lj[1] + b.lj[1]) / 2
                pairs.append((i, j, lj_style, (epsilon, sigma)))
                continue
            if a.lj is None and b.lj is None:
                pairs.append((i, j, buck_style, self.parameter_set.buckingham_pair(a.element, b.element)))
                continue
            ion, organic = (a, b) if a.lj is None else (b, a)
            style, coefficients, _ = self.parameter_set.ion_organic_pair(
                ion.element, organic.element, organic.bonded_to, self.policy, organic.lj
            )
            pairs.append((i, j, buck_style if style == 'buck' else lj_style, coefficients))
        return pairs

    def write_data(self, path, title: str = 'aiida-perovskite') -> None:
        """Write the LAMMPS data file (``atom_style full``) with all coefficient sections but pairs."""
        lx, ly, lz, xy, xz, yz = self.box
        lines = [
            f'# {title}',
            '',
            f'{len(self.atoms)} atoms',
            f'{len(self.bonds)} bonds',
            f'{len(self.angles)} angles',
            f'{len(self.dihedrals)} dihedrals',
            f'{len(self.impropers)} impropers',
            '',
            f'{len(self.types)} atom types',
            f'{len(self.bond_types)} bond types',
            f'{len(self.angle_types)} angle types',
            f'{len(self.dihedral_types)} dihedral types',
            f'{len(self.improper_types)} improper types',
            '',
            f'0.0 {lx:.10f} xlo xhi',
            f'0.0 {ly:.10f} ylo yhi',
            f'0.0 {lz:.10f} zlo zhi',
            f'{xy:.10f} {xz:.10f} {yz:.10f} xy xz yz',
            '',
            'Masses',
            '',
            *(f'{i} {t.mass:.6f}  # {t.label}' for i, t in enumerate(self.types, start=1)),
        ]

        def section(name, rows):
            if rows:
                lines.extend(['', name, '', *rows])

        section('Bond Coeffs # harmonic', [f'{i} {k:.8f} {r0:.8f}' for i, (k, r0) in enumerate(self.bond_types, 1)])
        section('Angle Coeffs # harmonic', [f'{i} {k:.8f} {t0:.8f}' for i, (k, t0) in enumerate(self.angle_types, 1)])
        section('Dihedral Coeffs # fourier', [
            f'{i} {len(terms)} ' + ' '.join(f'{k:.8f} {n} {d:.4f}' for k, n, d in terms)
            for i, terms in enumerate(self.dihedral_types, 1)
        ])
        section('Improper Coeffs # cvff', [f'{i} {k:.8f} {d} {n}' for i, (k, d, n) in enumerate(self.improper_types, 1)])
        section('Atoms # full', [
            f'{index} {molecule} {kind} {charge:.10f} {xyz[0]:.8f} {xyz[1]:.8f} {xyz[2]:.8f} {image[0]} {image[1]} {image[2]}'
            for index, (molecule, kind, charge, xyz, image) in enumerate(self.atoms, 1)
        ])
        section('Bonds', [f'{i} {t} {a} {b}' for i, (t, a, b) in enumerate(self.bonds, 1)])
        section('Angles', [f'{i} {t} {a} {b} {c}' for i, (t, a, b, c) in enumerate(self.angles, 1)])
        section('Dihedrals', [f'{i} {t} {a} {b} {c} {d}' for i, (t, a, b, c, d) in enumerate(self.dihedrals, 1)])
        section('Impropers', [f'{i} {t} {a} {b} {c} {d}' for i, (t, a, b, c, d) in enumerate(self.impropers, 1)])
        with open(path, 'w') as handle:
            handle.write('\n'.join(lines) + '\n')

    def coefficients_script(self, coulomb: str = 'long') -> str:
        """The ``pair_coeff`` commands alone: a restart file does not keep them for hybrid styles."""
        pairs = self.pair_coefficients(coulomb)
        single = len({style for _, _, style, _ in pairs}) == 1
        lines = []
        for i, j, style, coefficients in pairs:
            values = ' '.join(f'{value:.10g}' for value in coefficients)
            lines.append(f'pair_coeff {i} {j} {"" if single else style + " "}{values}')
        return '\n'.join(lines) + '\n'

    def forcefield_script(
        self,
        data_file: str = 'data.lmp',
        *,
        cutoff: float,
        coulomb: str = 'long',
        kspace_accuracy: float | None = None,
        coefficients_file: str | None = None,
    ) -> str:
        """LAMMPS commands that define the system: styles, ``read_data``, pair coefficients, k-space.

        An input script sets up the whole system with ``include`` of this text. With
        ``coefficients_file`` the pair coefficients are included from that file (written from
        :meth:`coefficients_script`) instead of written inline. ``cutoff`` (Angstrom) and, for
        ``coulomb='long'``, the PPPM ``kspace_accuracy`` come from the caller (the protocol's).
        """
        if coulomb not in ('long', 'cut'):
            raise ValueError(f'coulomb must be long or cut, not {coulomb!r}')
        if coulomb == 'long' and kspace_accuracy is None:
            raise ValueError('long-range Coulomb needs a kspace_accuracy')
        pairs = self.pair_coefficients(coulomb)
        styles = sorted({style for _, _, style, _ in pairs})
        pair_style = (
            f'pair_style {styles[0]} {cutoff}' if len(styles) == 1
            else 'pair_style hybrid ' + ' '.join(f'{style} {cutoff}' for style in styles)
        )
        header = [
            '# System definition written by aiida-perovskite.',
            '# Organic terms: GAFF (antechamber/parmchk2/tleap), AMBER 1-4 scaling, arithmetic LJ mixing.',
        ]
        if self.parameter_set is not None:
            header.append(f'# Ions and cross terms: {self.parameter_set.name} v{self.parameter_set.version} '
                          f'(heteroatom policy {self.policy}).')
            header.extend(f'#   cite: {citation}' for citation in self.parameter_set.citations)
            header.extend(f'#   assumption: {assumption}' for assumption in self.assumptions)
        charges = ', '.join(f'{element} {charge:+g}' for element, charge in sorted(self.ion_charges.items()))
        header.append(f'# Charge model {self.charge_model.spec}: {charges or "no ions"}; organic charges x '
                      f'{self.organic_charge_scale:.6g}.')
        lines = header + [
            'units real',
            'atom_style full',
            'boundary p p p',
            pair_style,
            'bond_style harmonic',
            'angle_style harmonic',
            'dihedral_style fourier',
            'improper_style cvff',
            'special_bonds amber',
            f'read_data {data_file}',
        ]
        if coefficients_file:
            lines.append(f'include {coefficients_file}')
        else:
            lines.append(self.coefficients_script(coulomb).rstrip('\n'))
        if coulomb == 'long':
            lines.append(f'kspace_style pppm {kspace_accuracy:g}')  # after read_data: needed for triclinic boxes
        return '\n'.join(lines) + '\n'


def lammps_box(lattice: np.ndarray) -> tuple[np.ndarray, tuple[float, float, float, float, float, float]]:
    """LAMMPS' restricted triclinic frame of a lattice (rows a, b, c): its matrix and (lx, ly, lz, xy, xz, yz)."""
    a, b, c = (np.linalg.norm(vector) for vector in lattice)
    cos_alpha = np.dot(lattice[1], lattice[2]) / (b * c)
    cos_beta = np.dot(lattice[0], lattice[2]) / (a * c)
    cos_gamma = np.dot(lattice[0], lattice[1]) / (a * b)
    lx = a
    xy = b * cos_gamma
    xz = c * cos_beta
    ly = np.sqrt(b**2 - xy**2)
    yz = (b * c * cos_alpha - xy * xz) / ly
    lz = np.sqrt(c**2 - xz**2 - yz**2)
    matrix = np.array([[lx, 0, 0], [xy, ly, 0], [xz, yz, lz]])
    return matrix, tuple(float(value) for value in (lx, ly, lz, xy, xz, yz))


def auto_replication(lattice: np.ndarray, cutoff: float) -> tuple[int, int, int]:
    """The smallest replication whose box is at least twice ``cutoff`` wide in every direction."""
    volume = abs(np.linalg.det(lattice))
    widths = [volume / np.linalg.norm(np.cross(lattice[(i + 1) % 3], lattice[(i + 2) % 3])) for i in range(3)]
    # The tolerance keeps a width of exactly 2 x cutoff at one copy despite rounding in the widths.
    return tuple(int(np.ceil(2 * cutoff / width - 1e-9)) for width in widths)


def layer_replication(miller_index, in_plane: int, stacking: int) -> tuple[int, int, int]:
    """``in_plane`` copies along the two lattice vectors in the inorganic layers, ``stacking`` along the third.

    Needs the layers to contain two lattice vectors (a stacking axis ``a``, ``b`` or ``c``, i.e. a
    Miller index with one non-zero entry); a skew stacking has no such split and raises ValueError.
    """
    nonzero = [index for index, value in enumerate(miller_index) if value]
    if len(nonzero) != 1:
        raise ValueError(f'layers along {tuple(miller_index)} do not contain two lattice vectors: '
                         'give the replication as three integers or "auto" instead')
    return tuple(stacking if axis == nonzero[0] else in_plane for axis in range(3))


def resolve_replication(spec, lattice: np.ndarray, cutoff: float, miller_index=None) -> tuple[int, int, int]:
    """The replication a setting asks for: three integers, ``"auto"`` (:func:`auto_replication`),
    ``{"min_width": L}`` (the smallest box at least ``L`` wide in every direction) or
    ``{"in_plane": N, "stacking": M}`` (:func:`layer_replication`, needs the layers' Miller index)."""
    if spec == 'auto':
        return auto_replication(lattice, cutoff)
    if isinstance(spec, dict) and 'min_width' in spec:
        return auto_replication(lattice, float(spec['min_width']) / 2)
    if isinstance(spec, dict):
        if miller_index is None:
            raise ValueError('an in-plane/stacking replication needs the stacking direction of the layers')
        return layer_replication(miller_index, int(spec['in_plane']), int(spec['stacking']))
    if len(spec) != 3 or any(int(n) < 1 for n in spec):
        raise ValueError(f'replication must be three positive integers, "auto" or {{in_plane, stacking}}: {spec!r}')
    return tuple(int(n) for n in spec)


def build_system(
    organic,
    ions: list[tuple[str, np.ndarray]],
    lattice: np.ndarray,
    parameter_set: ParameterSet | None = None,
    policy: str = 'heavy-as-cn',
    replication: tuple[int, int, int] = (1, 1, 1),
    charge_tolerance: float = 1e-3,
    expected_charge: int = 0,
    charge_model: ChargeModel | str = 'formal',
) -> LammpsSystem:
    """Assemble a replicated LAMMPS system.

    :param organic: a ParmEd ``Structure`` with every organic molecule of the cell (GAFF
        parameters, Cartesian positions in the frame of ``lattice``), or ``None``.
    :param ions: ``(element, cartesian position)`` of each inorganic atom.
    :param lattice: the cell's lattice vectors as rows, in the same Cartesian frame.
    :param charge_tolerance: a residual net charge up to this (rounding in the prmtop) is spread
        evenly over the organic atoms so the cell is neutral; a larger one is an error.
    :param expected_charge: the cell's total charge: 0 for a crystal, the molecules' charge for a
        system of organic molecules alone (as the tests' referee uses).
    :param charge_model: a :class:`.ChargeModel` or its spec (``formal``, ``myp``, ``scaled:F``):
        the ions take its charges and every organic charge is multiplied by the one factor that
        keeps the cell at ``expected_charge``.
    :raises ForceFieldError: a net charge beyond the tolerance, an ion without parameters, or a
        charge model that cannot describe the ions.
    """
    lattice = np.asarray(lattice, dtype=float)
    charge_model = parse_charge_model(charge_model)
    if ions and parameter_set is None:
        raise ForceFieldError('inorganic atoms need a parameter set')
    ion_charges = {}
    if parameter_set is not None:
        parameter_set.check_elements({element for element, _ in ions})
        ion_charges = charge_model.ion_charges(parameter_set, {element for element, _ in ions})

    types: list[LammpsType] = []
    type_index: dict[tuple, int] = {}

    def type_of(key, kind: LammpsType) -> int:
        """The 1-based type of ``key``, adding ``kind`` the first time the key is seen."""
        if key not in type_index:
            types.append(kind)
            type_index[key] = len(types)
        return type_index[key]

    # One unit cell first: (molecule id, type, charge, cartesian).
    cell_atoms = []
    organic_atoms = list(organic.atoms) if organic is not None else []
    if organic_atoms:
        positions = organic.coordinates
        residue_of = {id(atom): atom.residue.idx for atom in organic_atoms}
        for atom, xyz in zip(organic_atoms, positions):
            element = _element(atom.atomic_number)
            bonded_to = _element(atom.bond_partners[0].atomic_number) if element == 'H' and atom.bond_partners else None
            sigma = 2 * atom.rmin / 2 ** (1 / 6)
            key = ('organic', atom.type, round(atom.epsilon, _ROUND), round(sigma, _ROUND), bonded_to)
            kind = type_of(key, LammpsType(atom.type, atom.mass, element, (atom.epsilon, sigma), bonded_to))
            cell_atoms.append((residue_of[id(atom)] + 1, kind, atom.charge, np.asarray(xyz, dtype=float)))
    first_ion_molecule = (max((a[0] for a in cell_atoms), default=0)) + 1
    n_organic = len(cell_atoms)
    for offset, (element, xyz) in enumerate(ions):
        ion = parameter_set.ions[element]
        kind = type_of(('ion', element), LammpsType(element, ion['mass'], element, None))
        cell_atoms.append((first_ion_molecule + offset, kind, ion_charges[element], np.asarray(xyz, dtype=float)))

    # The organic factor: the organic part carries what the ions leave of the cell's charge.
    organic_charge = sum(atom[2] for atom in cell_atoms[:n_organic])
    ion_charge = sum(atom[2] for atom in cell_atoms[n_organic:])
    organic_scale = 1.0
    if n_organic and abs(round(organic_charge)) >= 1:
        organic_scale = (expected_charge - ion_charge) / round(organic_charge)
        if organic_scale <= 0:
            raise ForceFieldError(f'the charge model {charge_model.spec} leaves the ions {ion_charge:+.4f} e, '
                                  f'which organic charges of {organic_charge:+.4f} e cannot balance')
        cell_atoms = [(m, k, q * organic_scale, xyz) if n < n_organic else (m, k, q, xyz)
                      for n, (m, k, q, xyz) in enumerate(cell_atoms)]

    net = sum(atom[2] for atom in cell_atoms) - expected_charge
    if abs(net) > charge_tolerance:
        raise ForceFieldError(f'the cell carries a net charge of {net + expected_charge:+.6f} e, '
                              f'not {expected_charge:+d}')
    if organic_atoms and net:  # rounding left by the prmtop's fixed precision: spread it evenly
        share = net / len(organic_atoms)
        cell_atoms = [
            (m, k, q - share, xyz) if n < len(organic_atoms) else (m, k, q, xyz)
            for n, (m, k, q, xyz) in enumerate(cell_atoms)
        ]

    # Bonded terms of one cell, by (0-based) atom index.
    bond_types, angle_types, dihedral_types, improper_types = [], [], [], []
    bond_keys, angle_keys, dihedral_keys, improper_keys = {}, {}, {}, {}

    def intern(store, keys, value):
        if value not in keys:
            store.append(value)
            keys[value] = len(store)
        return keys[value]

    cell_bonds, cell_angles, cell_dihedrals, cell_impropers = [], [], [], []
    if organic_atoms:
        for bond in organic.bonds:
            kind = intern(bond_types, bond_keys, (round(bond.type.k, _ROUND), round(bond.type.req, _ROUND)))
            cell_bonds.append((kind, bond.atom1.idx, bond.atom2.idx))
        for angle in organic.angles:
            kind = intern(angle_types, angle_keys, (round(angle.type.k, _ROUND), round(angle.type.theteq, _ROUND)))
            cell_angles.append((kind, angle.atom1.idx, angle.atom2.idx, angle.atom3.idx))
        terms: dict[tuple[int, int, int, int], list] = {}
        for dihedral in organic.dihedrals:
            quad = (dihedral.atom1.idx, dihedral.atom2.idx, dihedral.atom3.idx, dihedral.atom4.idx)
            kind = dihedral.type
            scaled = not dihedral.improper and not dihedral.ignore_end  # terms that carry a 1-4 pair
            if scaled and (abs(kind.scee - 1.2) > 1e-6 or abs(kind.scnb - 2.0) > 1e-6):
                raise ForceFieldError(f'1-4 scaling {kind.scee}/{kind.scnb} is not AMBER\'s 1.2/2.0')
            # The prmtop stores phases in radians: 180 comes back as 180.0001.
            term = (round(kind.phi_k, _ROUND), int(round(kind.per)), round(kind.phase, 2))
            if dihedral.improper:
                if term[2] not in (0.0, 180.0):
                    raise ForceFieldError(f'improper phase {term[2]} is not 0 or 180 (cvff cannot express it)')
                improper = (term[0], 1 if term[2] == 0.0 else -1, term[1])
                cell_impropers.append((intern(improper_types, improper_keys, improper), *quad))
            else:
                terms.setdefault(quad, []).append(term)
        for quad, quad_terms in terms.items():
            kind = intern(dihedral_types, dihedral_keys, tuple(sorted(quad_terms)))
            cell_dihedrals.append((kind, *quad))

    # Replicate in LAMMPS' frame, wrapping positions and keeping image flags.
    frame, _ = lammps_box(lattice)
    fractional = np.array([xyz for *_, xyz in cell_atoms]).reshape(-1, 3) @ np.linalg.inv(lattice)
    na, nb, nc = replication
    supercell_box = lammps_box(lattice * np.array(replication)[:, None])[1]
    atoms, bonds, angles, dihedrals, impropers = [], [], [], [], []
    n_cell = len(cell_atoms)
    molecules_per_cell = max((a[0] for a in cell_atoms), default=0)
    for copy, (i, j, k) in enumerate(itertools.product(range(na), range(nb), range(nc))):
        for (molecule, kind, charge, _), frac in zip(cell_atoms, fractional):
            super_frac = (frac + [i, j, k]) / [na, nb, nc]
            image = np.floor(super_frac).astype(int)
            xyz = (super_frac - image) @ (frame * np.array(replication)[:, None])
            atoms.append((molecule + copy * molecules_per_cell, kind, charge, xyz, image))
        shift = copy * n_cell + 1
        bonds += [(t, a + shift, b + shift) for t, a, b in cell_bonds]
        angles += [(t, a + shift, b + shift, c + shift) for t, a, b, c in cell_angles]
        dihedrals += [(t, a + shift, b + shift, c + shift, d + shift) for t, a, b, c, d in cell_dihedrals]
        impropers += [(t, a + shift, b + shift, c + shift, d + shift) for t, a, b, c, d in cell_impropers]

    assumptions = []
    if parameter_set is not None:
        for ion in {t.element for t in types if t.lj is None}:
            for organic_type in (t for t in types if t.lj is not None):
                _, _, assumption = parameter_set.ion_organic_pair(ion, organic_type.element, organic_type.bonded_to,
                                                                  policy, organic_type.lj)
                if assumption and assumption not in assumptions:
                    assumptions.append(assumption)
    return LammpsSystem(
        box=supercell_box,
        types=types,
        atoms=atoms,
        bond_types=bond_types,
        bonds=bonds,
        angle_types=angle_types,
        angles=angles,
        dihedral_types=[tuple(terms) for terms in dihedral_types],
        dihedrals=dihedrals,
        improper_types=improper_types,
        impropers=impropers,
        parameter_set=parameter_set,
        policy=policy,
        assumptions=sorted(assumptions),
        replication=tuple(replication),
        charge_model=charge_model,
        ion_charges=ion_charges,
        organic_charge_scale=float(organic_scale),
    )


def _element(atomic_number: int) -> str:
    from pymatgen.core import Element

    return Element.from_Z(int(atomic_number)).symbol
