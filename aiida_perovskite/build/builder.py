"""Hypothetical layered perovskites from a spacer SMILES (plain Python, no AiiDA).

The cell is the one of :mod:`.ideal` generalised to any spacer: a flat
corner-sharing BX6 slab with one octahedron per cell in the plane (``a = 2 d(B-X)``),
spacers standing with their ammonium head in the pocket between four apical
halides, the head-to-far-end axis (RP) or the N...N axis (DJ) along the
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

Every head sits ``head_distance`` (3.6 A) from the four equatorial halides
around its pocket. The spacer's rotation about the stacking axis is chosen
among ``rotations`` angles as the one giving the shortest cell (RP) or the
widest closest contact (DJ). Contacts: no two atoms of different molecules, or of a
molecule and a slab, closer than ``contact_factor`` (0.8) times the sum of their
van der Waals radii (H...H 1.92 A, H...I 2.54 A); halides of facing slabs at
least 0.9 times theirs (I...I 3.56 A).

"Too large" is a measured rule: the spacer's van der Waals cross-section
across the stacking axis (convex hull of its atoms projected onto the layer
plane, widened by the hydrogen van der Waals radius 1.2 A) must not exceed the
pocket area per spacer, one octahedron face ``(2 d(B-X))^2``, e.g. 40.2 A^2
for Pb-I. A DJ spacer's heads must be at opposite ends: their distance at
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
}

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
        head_distance, contact_factor, rotations, max_cross_section_factor).
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
    if float(options['head_distance']) <= bond:
        raise BuildError(f'head_distance {options["head_distance"]} A must exceed the B-X bond {bond} A')

    spacer = spacer_from_smiles(smiles, heads=1 if phase == 'RP' else 2)
    coords = oriented(spacer)
    symbols = spacer.symbols
    a = 2 * bond
    pocket = a * a
    section = cross_section(coords)
    limit = pocket * float(options['max_cross_section_factor'])
    heavy = [k for k, element in enumerate(symbols) if element != 'H']
    record = {
        'cross_section': round(section, 2),
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
    depth = bond - float(np.sqrt(float(options['head_distance']) ** 2 - bond**2))
    factor = float(options['contact_factor'])
    angles = np.linspace(0.0, 2 * np.pi, int(options['rotations']), endpoint=False)
    top = 2 * bond * n - bond
    inorganic = slab_sites(np.zeros(3), n, options['metal'], options['halide'], bond, options['a_cation'])

    def assemble(angle, height, depth):
        """Structure pieces: species, cartesian, molecule id per site (-1 inorganic), lattice."""
        rotated = coords @ _about_z(angle).T
        species = [element for element, _ in inorganic]
        positions = [xyz for _, xyz in inorganic]
        owner = [-1] * len(inorganic)
        if phase == 'RP':
            lattice = np.array([[a, 0, 0], [0, a, 0], [bond, bond, height]])
            placements = [
                rotated + [bond, bond, top - depth],
                # the second spacer: turned upside down by a proper rotation (x, y, z) -> (x, -y, -z)
                rotated * [1, -1, -1] + [0, 0, height - bond + depth],
            ]
        else:
            lattice = np.array([[a, 0, 0], [0, a, 0], [0, 0, height]])
            placements = [rotated + [bond, bond, top - depth]]
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
            for angle in angles:
                def fits(height, angle=angle, trial_depth=trial_depth):
                    return closest(*assemble(angle, height, trial_depth))[0] >= factor
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
                    best = (angle, hi, trial_depth)
            if best is not None:
                break
        if best is None:
            worst = closest(*assemble(angles[0], high, depth))
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
            scores = [(closest(*assemble(angle, height, trial_depth)), angle) for angle in angles]
            (ratio, distance, i, j), angle = max(scores, key=lambda item: item[0][0])
            tried.append((trial_depth, ratio, distance))
            if ratio >= factor:
                best = (angle, height, trial_depth)
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

    angle, height, depth = best
    species, positions, owner, lattice_matrix = assemble(angle, height, depth)
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
        'head_depth': round(float(depth), 3),
        'stacking_period': round(float(structure.lattice.d_hkl((0, 0, 1))), 3),
        'closest_contact': round(distance, 3),
        'closest_contact_ratio': round(ratio, 3),
        'closest_contact_atoms': [structure[i].specie.symbol, structure[j].specie.symbol],
        'n_x_min': round(min(n_x), 3) if n_x else None,
    })
    return BuildResult(structure=structure, spacer=spacer, settings=options, record=record)
