"""Random candidate structures of a layered perovskite for one spacer, metal and halide (plain Python).

The approach of Karimitari, Baldwin et al. (JACS 146, 27392 (2024)), written afresh:

1. The spacer cation from its SMILES (:func:`~aiida_perovskite.builder.spacer.spacer_from_smiles`),
   one or more conformers (the head torsion: the builder's choice, anti, gauche), each turned so
   its first ammonium head is at the origin and its long axis along +z
   (:func:`~aiida_perovskite.builder.builder.oriented`). The conformers take turns: candidate ``i``
   has conformer ``i`` modulo their number, and only its other choices are drawn again when a draw
   is rejected. (Drawn with the rest, the bulkier conformer lost most draws to the overlap test: 7 of
   40 (PEA)2PbI4 candidates had the gauche head that the crystal has, 33 the anti one.)
2. A corner-sharing BX6 layer (:func:`~aiida_perovskite.builder.layer.slab_sites`) in an
   in-plane supercell holding ``k`` octahedra (``k`` formula units per cell, drawn from
   ``formula_units``), one slab per cell. Flat by default; with ``octahedral_tilt`` and/or
   ``octahedral_rotation`` ranges (degrees) the octahedra are turned in a checkerboard as in real
   layered perovskites (:func:`tilted_layer`): each by a tilt drawn from the range about an in-plane
   axis of random direction (the a-a-c0 pattern when that axis is a diagonal) and a rotation about
   the stacking axis, its four neighbours by the opposite angles. The supercell's vectors must join
   octahedra of the same turn (e.g. sqrt(2) x sqrt(2) or 2 x 2), so only those are drawn; 1 or 3
   formula units, which have none, stay flat, as their record says.
3. Every pocket of the layer takes an ammonium anchor: the head nitrogen sits above the pocket's
   centre, at a random height about the apical halide plane. All spacers of a side share one
   orientation: the long axis drawn uniformly on a cone of half-angle ``cone_angle`` about the
   stacking axis, with a random spin about that axis. Each molecule may independently be its
   mirror image (a plane through the long axis), only for an achiral spacer (no ``@`` in the
   SMILES); a chiral one keeps its handedness. With a ``herringbone`` range (degrees) the spacers over
   every second pocket (the checkerboard of the layer) are also spun about their own long axis by an
   angle drawn from it, so that flat rings can stand edge to face within a sheet (an in-sheet
   herringbone): a shared orientation alone keeps the rings of a sheet parallel (a mirror image turns
   them only by the angle its shape allows). (PEA)2PbI4's crystal does not alternate within a sheet
   (its rings are parallel there and about 55 degrees apart across the organic gap, which the
   two-fold bottom operation below can give), so the protocols leave this off. Only supercells in
   which the checkerboard fits (2 and 4 formula units) can alternate; 1 or 3 formula units stay
   parallel, as their record says.
4. RP: the spacers below the slab are those above it turned through the head's inversion centre
   (achiral spacers) or a two-fold axis in the plane (either spacer), the next slab shifted in the
   plane by a random offset (0 or 1/2 of an octahedron along each edge, plus a random shear) and
   brought as close as contacts allow. DJ: one diammonium per octahedron; its far head lands in
   the next slab's bottom pocket, which fixes the stacking vector (its tilt is the shear).
5. A candidate is rejected when two atoms of different molecules, or a molecule and the layer,
   come closer than ``overlap_factor`` times the sum of their covalent radii (and never closer than
   ``min_distance``), or two halides of
   facing slabs closer than ``halide_contact``; the draw is then repeated.

Every draw comes from one ``numpy.random.Generator`` seeded by ``seed``: the same settings give
the same candidates. Sites come organic first (molecule after molecule, each in the spacer's own
atom order), then the layer.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from pymatgen.core import Lattice, Structure

from aiida_perovskite.builder.builder import oriented
from aiida_perovskite.builder.layer import bx_bond, slab_sites
from aiida_perovskite.builder.spacer import GAUCHE, Spacer, spacer_from_smiles
from aiida_perovskite.structure.elements import COVALENT_RADII

__all__ = ('Candidate', 'DEFAULTS', 'SearchError', 'generate_candidates', 'is_chiral', 'spacer_conformers',
           'tilted_layer')

#: Every setting of :func:`generate_candidates` and its default.
DEFAULTS = {
    'phase': 'RP',
    'metal': 'Pb',
    'halide': 'I',
    'candidates': 8,
    'seed': 0,
    'formula_units': [1, 2, 3, 4],
    'cone_angle': 45.0,  # degrees: half-angle of the cone the long axis is drawn on
    'head_height': [-0.6, 0.6],  # A: head N about the apical halide plane (positive: away from the metal)
    'overlap_factor': 1.5,  # times the covalent-radii sum (H...I 2.55 A, C...C 2.28 A, N...I 3.15 A)
    'min_distance': 1.7,  # A: no foreign contact closer, whatever the radii (H...H would be 0.93 A)
    'halide_contact': 3.6,  # A: closest halides of facing slabs
    'shear': 0.15,  # fraction of an octahedron edge: the random part of the RP stacking offset
    'conformers': ['auto', 180.0, GAUCHE],  # head torsions (degrees; auto: the builder's choice)
    # draws per candidate before giving up (a rejected draw costs a few ms); a gauche (PEA)2PbI4 conformer on turned
    # octahedra fits about one draw in 300, and one candidate in ten needed over 1,000
    'max_attempts': 10000,
    'octahedral_tilt': [0.0, 0.0],  # degrees: range of the checkerboard tilt about an in-plane axis (0, 0: flat)
    'octahedral_rotation': [0.0, 0.0],  # degrees: range of the checkerboard rotation about the stacking axis
    'herringbone': [0.0, 0.0],  # degrees: range of the extra spin of every second pocket's spacer (0, 0: parallel)
}

#: In-plane supercells (rows: the cell's a and b in units of the one-octahedron cell) per formula unit count.
SUPERCELLS = {
    1: ([[1, 0], [0, 1]],),
    2: ([[1, 1], [-1, 1]], [[2, 0], [0, 1]]),
    3: ([[3, 0], [0, 1]],),
    4: ([[2, 0], [0, 2]], [[2, 2], [-1, 1]]),
}

#: Height step (A) of the RP stacking scan, and how far above the most compact stacking it looks.
_STEP = 0.25


class SearchError(ValueError):
    """The settings or the spacer cannot give candidates; the message says which and why."""

    code = 'search_error'


@dataclasses.dataclass
class Candidate:
    """One random structure and every choice that made it."""

    structure: Structure
    #: Choices and counts: formula_units, supercell, conformer, tilt/azimuth/spin (degrees), mirrors,
    #: bottom operation, offset, molecules (site indices of each spacer, in the spacer's atom order),
    #: inorganic (site indices of the layer), attempts.
    record: dict


def is_chiral(smiles: str) -> bool:
    """Whether the SMILES fixes a handedness (a ``@`` stereo mark): such a spacer is never mirrored."""
    return '@' in smiles


def spacer_conformers(smiles: str, phase: str, torsions) -> list[Spacer]:
    """The distinct conformers of the spacer for the head torsions ``torsions`` (``auto`` or degrees).

    Two conformers closer than 0.3 A RMS (after :func:`oriented`) count as one.
    """
    heads = 1 if phase == 'RP' else 2
    found, shapes = [], []
    for torsion in torsions:
        value = None if str(torsion).lower() == 'auto' else float(torsion)
        spacer = spacer_from_smiles(smiles, heads=heads, head_torsion=value)
        shape = oriented(spacer)
        if any(np.sqrt(np.mean(np.sum((shape - other) ** 2, axis=1))) < 0.3 for other in shapes):
            continue
        found.append(spacer)
        shapes.append(shape)
    return found


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def _orientation(tilt: float, azimuth: float, spin: float) -> np.ndarray:
    """Spin about z, then tilt by ``tilt`` towards the azimuth ``azimuth`` (radians)."""
    spin_matrix = _rotation(np.array([0.0, 0.0, 1.0]), spin)
    tilt_axis = np.array([-np.sin(azimuth), np.cos(azimuth), 0.0])
    return _rotation(tilt_axis, tilt) @ spin_matrix


def _validated(settings: dict) -> dict:
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise SearchError(f'unknown search setting(s) {unknown}; accepted: {sorted(DEFAULTS)}')
    options = {**DEFAULTS, **{key: value for key, value in settings.items() if value is not None}}
    options['phase'] = str(options['phase']).upper()
    if options['phase'] not in ('RP', 'DJ'):
        raise SearchError(f'unknown phase {options["phase"]!r}: choose RP (monoammonium) or DJ (diammonium)')
    units = [int(k) for k in options['formula_units']]
    if not units or any(k not in SUPERCELLS for k in units):
        raise SearchError(f'formula_units must be chosen from {sorted(SUPERCELLS)}, not {options["formula_units"]}')
    options['formula_units'] = units
    if int(options['candidates']) < 1:
        raise SearchError(f'candidates must be at least 1, not {options["candidates"]}')
    if not 0.0 <= float(options['cone_angle']) <= 90.0:
        raise SearchError(f'cone_angle must be 0 to 90 degrees, not {options["cone_angle"]}')
    for element in (options['metal'], options['halide']):
        if element not in COVALENT_RADII:
            raise SearchError(f'no covalent radius for {element}')
    bx_bond(options['metal'], options['halide'])  # BuildError for an unknown pair
    for key, largest in (('octahedral_tilt', 30.0), ('octahedral_rotation', 30.0), ('herringbone', 180.0)):
        try:
            low, high = (float(x) for x in options[key])
        except (TypeError, ValueError):
            raise SearchError(f'{key} must be a range [low, high] in degrees, not {options[key]!r}') from None
        if not 0.0 <= low <= high <= largest:
            raise SearchError(f'{key} must be a range within 0 to {largest:g} degrees, low first, not {options[key]}')
        options[key] = [low, high]
    return options


def _checkerboard(supercell: np.ndarray) -> bool:
    """Whether every vector of the in-plane supercell joins octahedra of the same checkerboard colour."""
    return all(int(round(row.sum())) % 2 == 0 for row in supercell)


def tilted_layer(tilt: float, axis: float, rotation: float, bond: float):
    """The one-octahedron cell's edges and the turns of a checkerboard of rigid BX6 octahedra.

    :param tilt: the tilt (radians) about the in-plane axis at angle ``axis`` (radians) from x;
        :param rotation: the rotation (radians) about the stacking axis.
    :returns: ``(edges, turns)``: the metal-metal distances along x and y (the projections of two
        touching octahedra's corners) and the rotation matrices of the two colours, the second the
        first's opposite (tilt and rotation reversed). Two neighbours' predictions of their shared
        corner agree exactly for a tilt or a rotation alone and to second order in the angles for
        both; :func:`_layer_sites` puts the corner halfway.
    """
    direction = np.array([np.cos(axis), np.sin(axis), 0.0])

    def turn(sign):
        return _rotation(direction, sign * tilt) @ _rotation(np.array([0.0, 0.0, 1.0]), sign * rotation)

    turns = (turn(1.0), turn(-1.0))
    edges = tuple(float(bond * (turns[0][k, k] + turns[1][k, k])) for k in (0, 1))
    return edges, turns


def _layer_sites(metals, colours, edges, turns, metal: str, halide: str, bond: float):
    """Sites of a one-octahedron-thick layer in :func:`slab_sites`' order (B, +x X, +y X, bottom X, top X).

    Each metal owns its +x and +y corners, placed halfway between its own octahedron's corner and
    the neighbour's (a neighbour has the other colour).
    """
    sites = []
    for position, colour in zip(metals, colours):
        own, other = turns[colour], turns[1 - colour]
        sites.append((metal, position))
        for k in (0, 1):
            unit = np.eye(3)[k]
            mine = position + bond * own @ unit
            theirs = position + edges[k] * unit - bond * other @ unit
            sites.append((halide, (mine + theirs) / 2))
        sites.append((halide, position - bond * own @ np.array([0.0, 0.0, 1.0])))
        sites.append((halide, position + bond * own @ np.array([0.0, 0.0, 1.0])))
    return sites


def _overlap(structure: Structure, owner: np.ndarray, halide: str, factor: float, halide_contact: float,
             floor: float):
    """The first forbidden contact ``(i, j, distance)``, or None.

    Organic atoms against every atom but their own molecule's in the same image, covalent radii times
    ``factor``; halides against halides of the neighbouring slabs (another image along c).
    """
    radii = np.array([COVALENT_RADII.get(site.specie.symbol, 1.5) for site in structure])
    reach = max(2 * factor * radii.max(), halide_contact) + 0.01
    centres, points, images, distances = structure.get_neighbor_list(reach)
    same_image = np.all(images == 0, axis=1)
    organic_i, organic_j = owner[centres] >= 0, owner[points] >= 0
    involved = organic_i | organic_j
    intramolecular = same_image & (owner[centres] == owner[points])
    limit = np.maximum(factor * (radii[centres] + radii[points]), floor)
    bad = involved & ~intramolecular & (distances < limit)
    halides = np.array([site.specie.symbol == halide for site in structure])
    across = ~involved & halides[centres] & halides[points] & (images[:, 2] != 0) & (distances < halide_contact)
    bad |= across
    if not bad.any():
        return None
    k = int(np.flatnonzero(bad)[0])
    return int(centres[k]), int(points[k]), float(distances[k])


def generate_candidates(smiles: str, **settings) -> list[Candidate]:
    """``candidates`` random structures of the spacer ``smiles`` (see the module docstring).

    :param settings: any of :data:`DEFAULTS`.
    :raises SearchError: bad settings, or no draw without overlaps in ``max_attempts`` tries.
    :raises aiida_perovskite.builder.BuildError: the SMILES cannot be a spacer of the phase.
    """
    options = _validated(settings)
    phase, metal, halide = options['phase'], options['metal'], options['halide']
    bond = bx_bond(metal, halide)
    conformers = spacer_conformers(smiles, phase, options['conformers'])
    shapes = [oriented(spacer) for spacer in conformers]
    chiral = is_chiral(smiles)
    rng = np.random.default_rng(int(options['seed']))
    candidates = []
    for index in range(int(options['candidates'])):
        for attempt in range(1, int(options['max_attempts']) + 1):
            drawn = _draw(rng, options, conformers, shapes, chiral, bond, index % len(shapes))
            if drawn is not None:
                drawn.record.update(index=index, attempts=attempt, seed=int(options['seed']))
                candidates.append(drawn)
                break
        else:
            raise SearchError(
                f'no candidate of {smiles} ({phase}, {metal}-{halide}, conformer {index % len(shapes)} of {len(shapes)}) '
                f'without overlaps in {options["max_attempts"]} '
                f'draws (overlap_factor {options["overlap_factor"]}): lower the factor or the cone angle'
            )
    return candidates


def _draw(rng, options, conformers, shapes, chiral, bond, which: int) -> Candidate | None:
    phase, metal, halide = options['phase'], options['metal'], options['halide']
    k = int(rng.choice(options['formula_units']))
    supercells = SUPERCELLS[k]
    turning = options['octahedral_tilt'][1] > 0 or options['octahedral_rotation'][1] > 0
    if turning:  # only the supercells in which the checkerboard fits, where k has one
        supercells = tuple(cell for cell in supercells if _checkerboard(np.array(cell))) or supercells
    supercell = np.array(supercells[int(rng.integers(len(supercells)))], dtype=float)
    spacer, shape = conformers[which], shapes[which]
    cone = np.radians(float(options['cone_angle']))
    tilt = float(np.arccos(rng.uniform(np.cos(cone), 1.0)))  # uniform over the cone's solid angle
    azimuth, spin = (float(x) for x in rng.uniform(0.0, 2 * np.pi, size=2))
    rotation = _orientation(tilt, azimuth, spin)
    octahedra = None
    if turning:  # no draw when flat: the seeds of flat searches give the same candidates as before
        turned = float(rng.uniform(*options['octahedral_tilt'])), float(rng.uniform(0.0, 360.0))
        octahedra = {'tilt': turned[0], 'tilt_axis': turned[1],
                     'rotation': float(rng.uniform(*options['octahedral_rotation']))}
        if not _checkerboard(supercell):
            octahedra = {'tilt': 0.0, 'tilt_axis': 0.0, 'rotation': 0.0, 'flat': 'supercell cannot alternate'}
    herringbone = None
    if options['herringbone'][1] > 0:  # drawn only when asked, so that it leaves the other draws of a seed alone
        herringbone = {'spin': float(rng.uniform(*options['herringbone']))}
        if not _checkerboard(supercell):
            herringbone = {'spin': 0.0, 'parallel': 'supercell cannot alternate'}
    if octahedra and (octahedra['tilt'] or octahedra['rotation']):
        edges, turns = tilted_layer(*np.radians([octahedra['tilt'], octahedra['tilt_axis'], octahedra['rotation']]),
                                    bond)
    else:
        edges, turns = (2 * bond, 2 * bond), None
    cell_edges = np.array([edges[0], edges[1]])
    plane = supercell @ np.array([[edges[0], 0.0, 0.0], [0.0, edges[1], 0.0]])
    # metals of the supercell: lattice points of the one-octahedron cell inside it
    span = int(np.abs(supercell).sum()) + 1
    inverse = np.linalg.inv(supercell)
    metals, colours = [], []
    for i in range(-span, span + 1):
        for j in range(-span, span + 1):
            fractional = np.array([i, j], dtype=float) @ inverse
            if np.all(fractional >= -1e-9) and np.all(fractional < 1 - 1e-9):
                metals.append(np.array([i * edges[0], j * edges[1], 0.0]))
                colours.append((i + j) % 2)
    assert len(metals) == k
    low, high = (float(x) for x in options['head_height'])
    mirrors = [bool(rng.integers(2)) and not chiral for _ in range(k)]
    heights = rng.uniform(low, high, size=(2, k))
    mirror_plane = np.diag([-1.0, 1.0, 1.0])  # a vertical plane through the long axis (before the turn)
    placed_top = []
    # the second colour's spacers spun about their long axis (z before the turn) by the herringbone angle
    turned_rotation = rotation if not herringbone else _orientation(tilt, azimuth, spin + np.radians(herringbone['spin']))
    for m, metal_position in enumerate(metals):
        molecule = shape @ mirror_plane.T if mirrors[m] else shape
        molecule = molecule @ (turned_rotation if colours[m] else rotation).T
        head = metal_position + [edges[0] / 2, edges[1] / 2, bond + heights[0, m]]
        placed_top.append(molecule + head)

    if turns is None:
        inorganic = [site for position in metals for site in slab_sites(position, 1, metal, halide, bond)]
    else:
        inorganic = _layer_sites(metals, colours, edges, turns, metal, halide, bond)
    record = {
        'formula_units': k,
        'supercell': supercell.astype(int).tolist(),
        'conformer': which,
        'tilt': round(float(np.degrees(tilt)), 2),
        'azimuth': round(float(np.degrees(azimuth)), 2),
        'spin': round(float(np.degrees(spin)), 2),
        'mirrors': mirrors,
        'phase': phase,
    }
    if octahedra is not None:
        record['octahedra'] = {key: round(value, 2) if isinstance(value, float) else value
                               for key, value in octahedra.items()}
    if herringbone is not None:
        record['herringbone'] = {key: round(value, 2) if isinstance(value, float) else value
                                 for key, value in herringbone.items()}
        record['herringbone']['spun'] = [bool(colour) and bool(herringbone['spin']) for colour in colours]
    if phase == 'DJ':
        tail = shape[spacer.tail] @ (rotation.T)  # the same for a mirrored molecule: the tail is on the axis
        flips = [bool(rng.integers(2)) for _ in range(k)]  # which head anchors below: reverse the molecule
        molecules = []
        for m, molecule in enumerate(placed_top):
            if flips[m]:  # the far head down: turn the molecule end over end about its midpoint (two-fold axis)
                centre = molecule[spacer.heads[0]] + tail / 2
                turn = _rotation(np.cross(tail, [0.0, 0.0, 1.0]) if np.linalg.norm(tail[:2]) > 1e-6
                                 else np.array([1.0, 0.0, 0.0]), np.pi)
                molecule = (molecule - centre) @ turn.T + centre
            molecules.append(molecule)
        record['flips'] = flips
        stacking = tail + [0.0, 0.0, 2 * bond + float(heights[0].mean()) + float(heights[1].mean())]
        lattice = np.vstack([plane, stacking])
        record['offset'] = [round(float(x), 3) for x in stacking]
        return _finish(molecules, inorganic, lattice, spacer, options, record)

    # RP: the bottom side is the top side through the head's inversion centre or a two-fold axis in the plane
    operations = ['c2'] if chiral else ['inversion', 'c2']
    bottom = operations[int(rng.integers(len(operations)))]
    operation = -np.eye(3) if bottom == 'inversion' else np.diag([1.0, -1.0, -1.0])
    placed_bottom = []
    for m, metal_position in enumerate(metals):
        molecule = (placed_top[m] - placed_top[m][spacer.heads[0]]) @ operation.T
        head = metal_position + [edges[0] / 2, edges[1] / 2, -bond - heights[1, m]]
        placed_bottom.append(molecule + head)
    offset = (rng.integers(2, size=2) * 0.5 + rng.uniform(-1, 1, size=2) * float(options['shear'])) * cell_edges
    record.update(bottom=bottom, offset=[round(float(x), 3) for x in offset])
    molecules = placed_top + placed_bottom
    top = max(float(np.max(molecule[:, 2])) for molecule in placed_top)
    below = min(float(np.min(molecule[:, 2])) for molecule in placed_bottom)
    reach = top - below  # the organic bilayer, if its two sheets did not interdigitate
    height = 2 * bond + 2.0  # the layer and a gap: the most compact stacking tried
    ceiling = reach + 3.0
    # sheets apart first: a clash within a sheet or with its own slab no stacking height can mend
    if _finish(molecules, inorganic, np.vstack([plane, [offset[0], offset[1], ceiling]]), spacer, options,
               dict(record)) is None:
        return None
    while height <= ceiling:
        lattice = np.vstack([plane, [offset[0], offset[1], height]])
        candidate = _finish(molecules, inorganic, lattice, spacer, options, dict(record))
        if candidate is not None:
            return candidate
        height += _STEP
    return None


def _finish(molecules, inorganic, lattice, spacer, options, record) -> Candidate | None:
    species, positions, owner, indices = [], [], [], []
    for m, molecule in enumerate(molecules):
        indices.append(list(range(len(species), len(species) + len(spacer.symbols))))
        species += spacer.symbols
        positions += list(molecule)
        owner += [m] * len(spacer.symbols)
    start = len(species)
    species += [element for element, _ in inorganic]
    positions += [xyz for _, xyz in inorganic]
    owner += [-1] * len(inorganic)
    structure = Structure(Lattice(lattice), species, np.array(positions), coords_are_cartesian=True)
    if _overlap(structure, np.array(owner), options['halide'], float(options['overlap_factor']),
                float(options['halide_contact']), float(options['min_distance'])) is not None:
        return None
    record.update(molecules=indices, inorganic=list(range(start, len(species))),
                  stacking_period=round(float(structure.lattice.d_hkl((0, 0, 1))), 3))
    return Candidate(structure=structure, record=record)

