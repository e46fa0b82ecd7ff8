"""Hypothetical layered perovskites from a spacer SMILES (plain Python, no AiiDA).

The cell is the one of :mod:`.ideal` generalised to any spacer: a corner-sharing
BX6 slab, spacers standing with their ammonium head in the pocket between four
apical halides, the head-to-far-end axis (RP) or the N...N axis (DJ) along the
stacking direction.

- RP (Ruddlesden-Popper, ``A'2 A(n-1) B(n) X(3n+1)``): two monoammonium spacers
  per octahedron, one standing on this slab's top pocket and one hanging from
  the next slab, which is shifted by half a cell (monoclinic cell). The two
  sheets interdigitate as far as contacts allow: the stacking length is the
  shortest one at which no contact is closer than ``contact_factor`` times the
  sum of van der Waals radii.
- DJ (Dion-Jacobson, ``A' A(n-1) B(n) X(3n+1)``): one diammonium per
  octahedron bridging eclipsed slabs; the stacking length follows from the
  N...N distance and the head depth.

Packing (``packing``) within a sheet:

- ``herringbone`` (default): the sqrt(2) x sqrt(2) cell of most crystals, two
  octahedra per layer, turned ``octahedral_rotation`` degrees (default 12)
  about the stacking axis in a checkerboard, so the in-plane B-X-B angle is
  180 - 2 x 12 = 156 degrees (the published (BA)2PbI4 and (PEA)2PbI4 cells have
  148.5 and 153.3; the cell edge is ``2 sqrt(2) d(B-X) cos(rotation)``, 8.77 A
  for Pb-I). The two pockets of a sheet hold a spacer and its mirror image
  through a vertical plane (across the cell edge a or across a B-X-B row,
  whichever packs better), as in (PEA)2PbI4, where the rings of neighbouring
  spacers form a herringbone; a spacer whose SMILES fixes its handedness is
  not mirrored but turned by 0, 90, 180 or 270 degrees instead.
- ``parallel``: one flat octahedron per cell (``a = 2 d(B-X)``), every spacer
  alike; the smallest cell. Built (PEA)2PbI4 cells of this kind relax at
  300 K to a layer about 5 % too wide (measured in the docs, "Building
  structures"), which is why it is not the default.

Every head sits at least ``head_distance`` (3.6 A) from the equatorial
halides around its pocket. The spacer's rotation about the stacking axis is
chosen among ``rotations`` angles as the one giving the shortest cell (RP) or
the widest closest contact (DJ). Contacts: no two atoms of different
molecules, or of a molecule and a slab, closer than ``contact_factor`` (0.8)
times the sum of their van der Waals radii (H...H 1.92 A, H...I 2.54 A);
halides of facing slabs at least 0.9 times theirs (I...I 3.56 A).

"Too large" is a measured rule: the spacer's van der Waals cross-section
across the stacking axis (convex hull of its atoms projected onto the layer
plane, widened by the hydrogen van der Waals radius 1.2 A) must not exceed the
pocket area per spacer, one flat octahedron face ``(2 d(B-X))^2``, e.g. 40.2
A^2 for Pb-I. A DJ spacer's heads must be at opposite ends: their distance at
least ``0.75`` times the molecule's longest heavy-atom distance.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from pymatgen.core import Lattice, Structure

from .errors import BuildError
from .layer import bx_bond, slab_sites
from .spacer import Spacer, spacer_from_smiles

__all__ = ('BuildResult', 'DEFAULTS', 'build_perovskite', 'cross_section')

#: Bondi van der Waals radii (A. Bondi, J. Phys. Chem. 68, 441 (1964)); Pb, Sn from the same table.
VDW_RADII = {
    'H': 1.20, 'C': 1.70, 'N': 1.55, 'O': 1.52, 'F': 1.47, 'Si': 2.10, 'P': 1.80, 'S': 1.80, 'Cl': 1.75,
    'Se': 1.90, 'Br': 1.85, 'I': 1.98, 'B': 1.92, 'Pb': 2.02, 'Sn': 2.17, 'Cs': 3.43,
}

#: Every setting of :func:`build_perovskite` and its default (recorded by the calcfunction).
DEFAULTS = {
    'phase': 'RP',
    'n': 1,
    'metal': 'Pb',
    'halide': 'I',
    'a_cation': 'MA',
    'head_distance': 3.6,
    'contact_factor': 0.8,
    'rotations': 24,
    'max_cross_section_factor': 1.0,
    'packing': 'herringbone',
    'octahedral_rotation': None,  # 12 degrees for herringbone cells; parallel cells are flat
    'head_torsion': 'auto',
}

#: Default rotation (degrees) of the octahedra of a herringbone cell about the stacking axis.
HERRINGBONE_ROTATION = 12.0
#: Spacer arrangements within a sheet (see the module docstring).
PACKINGS = ('parallel', 'herringbone')

#: Fraction of the van der Waals sum kept between atoms of facing slabs (I...I 3.56 A, Br...Br 3.33 A).
HALIDE_CONTACT = 0.9

#: Hydrogen van der Waals radius used to widen the projected hull into a cross-section.
_WIDEN = 1.2
#: Head-to-head distance over the longest heavy-atom distance below which a diammonium's heads are not at opposite ends.
_OPPOSITE_ENDS = 0.75


@dataclasses.dataclass
class BuildResult:
    """A built cell and what was measured while building it."""

    structure: Structure
    spacer: Spacer
    settings: dict
    #: Measured figures: cross-section, pocket area, head-X distances, closest contact, stacking period...
    record: dict


def cross_section(coords: np.ndarray) -> float:
    """Van der Waals cross-section (A^2) of a molecule across z: projected hull widened by 1.2 A."""
    from scipy.spatial import ConvexHull, QhullError

    points = np.asarray(coords, dtype=float)[:, :2]
    try:
        hull = ConvexHull(points)
        area, perimeter = hull.volume, hull.area  # in 2D, qhull's volume is the area and area the perimeter
    except (QhullError, ValueError):  # collinear projection (e.g. a single atom): a segment
        span = points.max(axis=0) - points.min(axis=0)
        area, perimeter = 0.0, 2 * float(np.linalg.norm(span))
    return float(area + perimeter * _WIDEN + np.pi * _WIDEN**2)


def _rotation_to_z(vector: np.ndarray) -> np.ndarray:
    """The proper rotation matrix taking ``vector`` onto +z."""
    v = vector / np.linalg.norm(vector)
    z = np.array([0.0, 0.0, 1.0])
    cross = np.cross(v, z)
    sine, cosine = np.linalg.norm(cross), float(v @ z)
    if sine < 1e-9:
        return np.eye(3) if cosine > 0 else np.diag([1.0, -1.0, -1.0])
    k = cross / sine
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + sine * kx + (1 - cosine) * kx @ kx


def _about_z(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def _aligned(coords: np.ndarray, axis: np.ndarray) -> np.ndarray:
    if np.linalg.norm(axis) < 1e-6:
        axis = np.array([0.0, 0.0, 1.0])
    return coords @ _rotation_to_z(axis).T


def oriented(spacer: Spacer) -> np.ndarray:
    """Coordinates with the first head at the origin and the molecule's long axis along +z.

    DJ (two heads): the N...N axis. RP (one head): of the axes from the head to the far end, to
    the heavy-atom centroid and to each heavy atom, the one giving the smallest cross-section
    (see :func:`cross_section`) with every other heavy atom at least 0.5 A above the head.
    """
    coords = spacer.coords - spacer.coords[spacer.heads[0]]
    if spacer.n_heads == 2:
        return _aligned(coords, coords[spacer.tail])
    heavy = [k for k, element in enumerate(spacer.symbols) if element != 'H' and k != spacer.heads[0]]
    if not heavy:
        return _aligned(coords, coords.mean(axis=0))
    head = spacer.heads[0]
    head_hydrogens = [k for k, element in enumerate(spacer.symbols)
                      if element == 'H' and np.linalg.norm(coords[k]) < 1.2]
    candidates = [coords[spacer.tail], coords[heavy].mean(axis=0)] + [coords[k] for k in heavy]
    best = None
    for axis in candidates:
        if np.linalg.norm(axis) < 0.5:
            continue
        aligned = _aligned(coords, axis)
        if aligned[heavy, 2].min() < 0.5:
            continue
        # an N-H pointing straight down meets the head of the spacer on the other side of the layer
        drop = -min((aligned[k, 2] - aligned[head, 2] for k in head_hydrogens), default=0.0)
        score = (drop > 0.95, cross_section(aligned))
        if best is None or score < best[0]:
            best = (score, aligned)
    return best[1] if best is not None else _aligned(coords, coords[spacer.tail])


def build_perovskite(smiles: str, **settings) -> BuildResult:
    """Build a layered perovskite cell for the spacer ``smiles`` (see the module docstring).

    :param settings: any of :data:`DEFAULTS` (phase RP|DJ, n, metal, halide, a_cation MA|Cs,
        head_distance, contact_factor, rotations, max_cross_section_factor, packing
        herringbone|parallel, octahedral_rotation in degrees, head_torsion auto or degrees).
    :raises BuildError: with a message naming the problem and the numbers behind it.
    """
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise BuildError(f'unknown setting(s) {unknown}; accepted: {sorted(DEFAULTS)}')
    options = {**DEFAULTS, **{key: value for key, value in settings.items() if value is not None}}
    phase = str(options['phase']).upper()
    if phase not in ('RP', 'DJ'):
        raise BuildError(f'unknown phase {options["phase"]!r}: choose RP (monoammonium) or DJ (diammonium)')
    n = int(options['n'])
    if n < 1:
        raise BuildError(f'n must be at least 1 (octahedral layers per slab), not {n}')
    options.update(phase=phase, n=n)
    bond = bx_bond(options['metal'], options['halide'])
    packing = str(options['packing']).lower()
    if packing not in PACKINGS:
        raise BuildError(f'unknown packing {options["packing"]!r}: choose one of {", ".join(PACKINGS)}')
    options['packing'] = packing
    if float(options['head_distance']) <= bond:
        raise BuildError(f'head_distance {options["head_distance"]} A must exceed the B-X bond {bond} A')

    if options['octahedral_rotation'] is None:
        options['octahedral_rotation'] = HERRINGBONE_ROTATION if packing == 'herringbone' else 0.0
    degrees = float(options['octahedral_rotation'])
    if degrees and packing != 'herringbone':
        raise BuildError(
            f'octahedral_rotation {options["octahedral_rotation"]} degrees needs packing herringbone: '
            'neighbouring octahedra turn opposite ways, which takes the sqrt(2) x sqrt(2) cell'
        )
    if not 0.0 <= degrees < 30.0:
        raise BuildError(f'octahedral_rotation must be 0 to 30 degrees, not {options["octahedral_rotation"]}')
    rotation = np.radians(degrees)

    torsion = options['head_torsion']
    if str(torsion).lower() == 'auto':
        torsion = None
    else:
        try:
            torsion = float(torsion)
        except (TypeError, ValueError):
            raise BuildError(f'head_torsion must be auto or an angle in degrees, not {torsion!r}') from None
    heads = 1 if phase == 'RP' else 2
    spacer = spacer_from_smiles(smiles, heads=heads, head_torsion=torsion)
    coords = oriented(spacer)
    a = 2 * bond * float(np.cos(rotation))  # metal-metal distance in the plane
    face = 2 * bond  # edge of a flat octahedron face: the pocket area per spacer is measured on it
    pocket = face * face
    section = cross_section(coords)
    limit = pocket * float(options['max_cross_section_factor'])
    head_torsion = options['head_torsion']
    if section > limit and torsion is None:
        # the gauche head of an arylethylammonium is wider than the anti one: take anti when only it fits
        extended = spacer_from_smiles(smiles, heads=heads, head_torsion=180.0)
        extended_coords = oriented(extended)
        extended_section = cross_section(extended_coords)
        if extended_section <= limit:
            spacer, coords, section = extended, extended_coords, extended_section
            head_torsion = 'anti: gauche too wide for the pocket'
    symbols = spacer.symbols
    heavy = [k for k, element in enumerate(symbols) if element != 'H']
    record = {
        'cross_section': round(section, 2),
        'head_torsion': head_torsion,
        'pocket_area': round(pocket, 2),
        'bx_bond': bond,
        'a': a,
    }
    if phase == 'DJ':
        span = max(
            (np.linalg.norm(coords[i] - coords[j]) for i in heavy for j in heavy), default=0.0
        )
        head_to_head = float(coords[spacer.tail, 2])
        record['head_to_head'] = round(head_to_head, 3)
        if head_to_head < _OPPOSITE_ENDS * span:
            raise BuildError(
                f'spacer {spacer.smiles}: its two ammonium heads are {head_to_head:.2f} A apart, less than '
                f'{_OPPOSITE_ENDS:.2f} x its longest heavy-atom distance ({span:.2f} A): the heads are not at '
                'opposite ends, so it cannot bridge two layers as a DJ spacer'
            )

    if section > limit:
        raise BuildError(
            f'spacer {spacer.smiles} is too large for phase {phase} on a {options["metal"]}-{options["halide"]} '
            f'layer: its van der Waals cross-section across the stacking axis is {section:.1f} A^2, more than the '
            f'{limit:.1f} A^2 pocket area per spacer (one octahedron face, (2 x {bond:.2f} A)^2)'
        )

    # Head depth below the apical halide plane that puts N at head_distance from the four equatorial halides.
    # (rotated octahedra bring two of the four equatorial halides around a pocket closer to its axis:
    # bond x (cos - sin) of the rotation; the head keeps head_distance from those)
    nearest = bond * float(np.cos(rotation) - np.sin(rotation))
    depth = bond - float(np.sqrt(float(options['head_distance']) ** 2 - nearest**2))
    factor = float(options['contact_factor'])
    angles = np.linspace(0.0, 2 * np.pi, int(options['rotations']), endpoint=False)
    top = 2 * bond * n - bond
    # In-plane cell and the octahedra in it: one (parallel), or two on a sqrt(2) x sqrt(2) cell
    # whose two pockets per sheet hold a spacer and its partner (herringbone): its mirror image
    # through a vertical plane, or for a chiral spacer (a handedness written in the SMILES, which
    # canonical SMILES drop) the same molecule turned about the stacking axis.
    if packing == 'herringbone':
        plane = np.array([[a, a, 0.0], [-a, a, 0.0]])
        offsets = [np.zeros(3), np.array([a, 0.0, 0.0])]
        turns = [rotation, -rotation]
        if '@' in spacer.input_smiles:
            partners = [(f'turned {k * 90} degrees' if k else 'alike', _about_z(k * np.pi / 2)) for k in (1, 2, 3, 0)]
        else:
            diagonal = np.array([1.0, 1.0, 0.0]) / np.sqrt(2)
            partners = [('mirror, plane across the cell edge a', np.eye(3) - 2 * np.outer(diagonal, diagonal)),
                        ('mirror, plane across a B-X-B row', np.diag([-1.0, 1.0, 1.0]))]
    else:
        plane = np.array([[a, 0.0, 0.0], [0.0, a, 0.0]])
        offsets, partners, turns = [np.zeros(3)], [(None, None)], [0.0]  # no partner: every spacer alike
    inorganic = [
        site for offset, turn in zip(offsets, turns)
        for site in slab_sites(offset, n, options['metal'], options['halide'], bond, options['a_cation'], turn)
    ]
    # (rotation about the stacking axis, partner of the spacer in the sheet, its operation) to try
    choices = [(angle, label, operation) for label, operation in partners for angle in angles]

    def assemble(choice, height, depth):
        """Structure pieces: species, cartesian, molecule id per site (-1 inorganic), lattice."""
        angle, _, operation = choice
        rotated = coords @ _about_z(angle).T
        sheet = [rotated] if operation is None else [rotated, rotated @ operation.T]
        species = [element for element, _ in inorganic]
        positions = [xyz for _, xyz in inorganic]
        owner = [-1] * len(inorganic)
        placements = [molecule + offset + [a / 2, a / 2, top - depth] for molecule, offset in zip(sheet, offsets)]
        if phase == 'RP':
            lattice = np.vstack([plane, [a / 2, a / 2, height]])
            # the facing sheet: turned upside down by a proper rotation (x, y, z) -> (x, -y, -z)
            placements += [molecule * [1, -1, -1] + offset + [0, 0, height - bond + depth]
                           for molecule, offset in zip(sheet, offsets)]
        else:
            lattice = np.vstack([plane, [0, 0, height]])
        for molecule, placed in enumerate(placements):
            species.extend(symbols)
            positions.extend(placed)
            owner.extend([molecule] * len(symbols))
        return species, np.array(positions), np.array(owner), lattice

    def closest(species, positions, owner, lattice):
        """(ratio, distance, i, j): the worst contact as a fraction of the van der Waals sum."""
        radii = np.array([VDW_RADII.get(s, 2.0) for s in species])
        organic = np.flatnonzero(owner >= 0)
        shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)]) @ lattice
        worst = (np.inf, np.inf, -1, -1)
        # organic sites against every site and image; the same molecule in the home image is excluded
        delta = positions[None, None, :, :] + shifts[:, None, None, :] - positions[None, organic, None, :]
        distance = np.linalg.norm(delta, axis=-1)  # (images, organic, all)
        home = np.all(shifts == 0, axis=1)
        same = owner[organic][:, None] == owner[None, :]
        distance[home] = np.where(same, np.inf, distance[home])
        ratio = distance / (radii[organic][None, :, None] + radii[None, None, :])
        flat = int(np.argmin(ratio))
        image, i, j = np.unravel_index(flat, ratio.shape)
        worst = (float(ratio[image, i, j]), float(distance[image, i, j]), int(organic[i]), int(j))
        # slab against the next slab across the gap (halide-halide)
        inorganic_sites = np.flatnonzero(owner < 0)
        up = lattice[2]
        delta = positions[None, inorganic_sites, :] + up - positions[inorganic_sites, None, :]
        across = np.linalg.norm(
            delta[:, :, None, :] + (np.array([[i, j, 0] for i in (-1, 0, 1) for j in (-1, 0, 1)]) @ lattice)[None, None],
            axis=-1,
        ).min(axis=2)
        sums = radii[inorganic_sites][:, None] + radii[inorganic_sites][None, :]
        # facing slabs keep their halides further apart: HALIDE_CONTACT of the van der Waals sum
        ratio_across = across / sums * factor / HALIDE_CONTACT
        if ratio_across.min() < worst[0]:
            i, j = np.unravel_index(int(np.argmin(ratio_across)), ratio_across.shape)
            worst = (float(ratio_across[i, j]), float(across[i, j]), int(inorganic_sites[i]), int(inorganic_sites[j]))
        return worst

    best = None
    if phase == 'RP':
        reach = float(coords[heavy, 2].max()) if heavy else 0.0
        for step in range(0, 16):  # raise the heads out of the pockets 0.1 A at a time if they must
            trial_depth = depth - 0.1 * step
            low = top + bond + max(reach - trial_depth, 0.0) + 0.5  # the chain end just below the facing halides
            high = top + bond + 2 * (float(coords[:, 2].max()) - trial_depth) + 8.0  # sheets apart, tail to tail
            for choice in choices:
                def fits(height, choice=choice, trial_depth=trial_depth):
                    return closest(*assemble(choice, height, trial_depth))[0] >= factor
                ceiling = high if best is None else best[1]
                if not fits(ceiling):
                    continue
                # the lowest height that fits, scanning up from the most interdigitated packing
                # (contacts are not monotonic in the height: two sheets may fit side by side, clash, then fit)
                previous, height = low, low
                while height < ceiling and not fits(height):
                    previous, height = height, min(height + 0.3, ceiling)
                lo, hi = previous, height
                while hi - lo > 0.02:
                    mid = (lo + hi) / 2
                    lo, hi = (lo, mid) if fits(mid) else (mid, hi)
                if best is None or hi < best[1] - 1e-6:
                    best = (choice, hi, trial_depth)
            if best is not None:
                break
        if best is None:
            worst = closest(*assemble(choices[0], high, depth))
            raise BuildError(
                f'spacer {spacer.smiles} is too large for phase RP on a {options["metal"]}-{options["halide"]} layer: '
                f'even with the two spacer sheets apart, neighbouring spacers come within {worst[1]:.2f} A '
                f'({worst[0]:.2f} x the van der Waals sum, {factor:.2f} needed) at every rotation; '
                f'pocket spacing {a:.2f} A, cross-section {section:.1f} A^2'
            )
    else:
        head_to_head = record['head_to_head']
        tried = []
        for step in range(0, 31):  # raise the heads out of the pockets 0.1 A at a time if they must
            trial_depth = depth - 0.1 * step
            height = top + bond - 2 * trial_depth + head_to_head
            scores = [(closest(*assemble(choice, height, trial_depth)), choice) for choice in choices]
            (ratio, distance, i, j), choice = max(scores, key=lambda item: item[0][0])
            tried.append((trial_depth, ratio, distance))
            if ratio >= factor:
                best = (choice, height, trial_depth)
                break
        if best is None:
            trial_depth, ratio, distance = tried[0]
            gap = head_to_head - 2 * depth
            raise BuildError(
                f'spacer {spacer.smiles} does not fit phase DJ on a {options["metal"]}-{options["halide"]} layer: '
                f'with its heads {head_to_head:.2f} A apart the gap between the halide planes would be {gap:.2f} A '
                f'and the closest contact {distance:.2f} A ({ratio:.2f} x the van der Waals sum, {factor:.2f} '
                'needed), and raising the heads out of the pockets by up to 3 A does not help'
            )

    choice, height, depth = best
    species, positions, owner, lattice_matrix = assemble(choice, height, depth)
    angle, partner, _ = choice
    structure = Structure(Lattice(lattice_matrix), species, positions, coords_are_cartesian=True)
    ratio, distance, i, j = closest(species, positions, owner, lattice_matrix)
    halide = options['halide']
    head_sites = [int(np.flatnonzero(owner == m)[0] + spacer.heads[0]) for m in range(owner.max() + 1)]
    n_x = []
    for site in head_sites:
        neighbours = structure.get_neighbors(structure[site], 4.5)
        n_x.extend(float(nb.nn_distance) for nb in neighbours if nb.specie.symbol == halide)
    record.update({
        'rotation_deg': round(float(np.degrees(angle)), 1),
        'metals_per_layer': len(offsets),
        'partner': partner,
        'head_depth': round(float(depth), 3),
        'stacking_period': round(float(structure.lattice.d_hkl((0, 0, 1))), 3),
        'closest_contact': round(distance, 3),
        'closest_contact_ratio': round(ratio, 3),
        'closest_contact_atoms': [structure[i].specie.symbol, structure[j].specie.symbol],
        'n_x_min': round(min(n_x), 3) if n_x else None,
    })
    return BuildResult(structure=structure, spacer=spacer, settings=options, record=record)
