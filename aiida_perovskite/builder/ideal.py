"""Ideal-geometry layered perovskites with straight-chain alkylammonium spacers.

A deterministic construction from bond lengths and angles alone: a flat
corner-sharing BX6 layer (one octahedron per cell in the plane), all-trans
alkyl chains standing along the stacking direction with their ammonium heads
in the layer's pockets. Ruddlesden-Popper cells have a bilayer of
monoammonium spacers and the next slab shifted by half a cell (a monoclinic
cell, so the triclinic path is exercised); Dion-Jacobson cells have one
diammonium per octahedron and eclipsed slabs. ``n`` > 1 slabs hold A-site
cations (Cs or methylammonium) in their cages.

These cells are sound enough to validate, decompose and parametrise; they are
not relaxed and are not meant to reproduce experimental cells.
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Lattice, Structure

from .layer import BX_BOND, bx_bond, slab_sites  # noqa: F401  (BX_BOND re-exported)

__all__ = ('BX_BOND', 'alkylammonium', 'layered_perovskite', 'methylammonium')


_BACKBONE_X, _BACKBONE_Z = 0.42, 1.26  # all-trans zigzag: 1.51 A bonds, 112.6 degree angles
_TETRAHEDRAL = np.radians(109.47)


def alkylammonium(n_carbons: int, diammonium: bool = False) -> tuple[list[str], np.ndarray]:
    """An all-trans ``H3N+-(CH2)n-X`` chain along +z with the first N at the origin.

    ``X`` is ``CH3`` (monoammonium, e.g. butylammonium for ``n_carbons=4``) or
    ``NH3+`` (diammonium, e.g. 1,4-butanediammonium for ``n_carbons=4``).
    """
    if n_carbons < 1:
        raise ValueError('an alkylammonium needs at least one carbon')
    heavy = ['N'] + ['C'] * n_carbons + (['N'] if diammonium else [])
    if not diammonium:
        heavy[-1] = 'C'  # the last carbon is the methyl group
    backbone = np.array([[_BACKBONE_X * (-1) ** k, 0.0, _BACKBONE_Z * k] for k in range(len(heavy))])
    symbols, coords = list(heavy), [tuple(position) for position in backbone]
    for k, (element, position) in enumerate(zip(heavy, backbone)):
        length = 1.03 if element == 'N' else 1.09
        bonded = [backbone[j] - position for j in (k - 1, k + 1) if 0 <= j < len(heavy)]
        for direction in _hydrogen_directions(bonded):
            symbols.append('H')
            coords.append(tuple(position + length * direction))
    return symbols, np.array(coords)


def methylammonium() -> tuple[list[str], np.ndarray]:
    """CH3NH3+ along +z, N at the origin."""
    symbols, coords = alkylammonium(1)
    return symbols, coords


def layered_perovskite(
    spacer: tuple[list[str], np.ndarray],
    phase: str = 'RP',
    n: int = 1,
    metal: str = 'Pb',
    halide: str = 'I',
    a_cation: str = 'MA',
    head_depth: float = 0.4,
    clearance: float = 3.9,
) -> Structure:
    """A layered perovskite cell with the given spacer.

    :param spacer: ``(symbols, coords)`` of one spacer along +z, its (first) ammonium N at the origin.
    :param phase: ``'RP'`` (two monoammonium spacers per octahedron) or ``'DJ'`` (one diammonium).
    :param n: octahedral layers per slab.
    :param a_cation: ``'MA'`` (methylammonium) or ``'Cs'``, used in the cages when ``n > 1``.
    :param head_depth: how far below the apical halide plane the ammonium N sits.
    :param clearance: distance kept between a chain's far end and the facing halide plane (RP).
    """
    phase = phase.upper()
    if phase not in ('RP', 'DJ'):
        raise ValueError(f'unknown phase {phase!r}: choose RP or DJ')
    bond = bx_bond(metal, halide)
    a = 2 * bond
    symbols, coords = spacer[0], np.asarray(spacer[1], dtype=float)
    heavy = [k for k, element in enumerate(symbols) if element != 'H']
    length = float(coords[heavy, 2].max())  # N at the origin: reach of the heavy atoms along +z
    slab = 2 * bond * n  # apical halide to apical halide

    species, positions = [], []

    def add(element, xyz):
        species.append(element)
        positions.append(np.asarray(xyz, dtype=float))

    def add_slab(origin):
        for element, xyz in slab_sites(origin, n, metal, halide, bond, a_cation):
            add(element, xyz)

    # The slab spans heights -bond .. slab - bond; its top pocket is at (bond, bond).
    top = slab - bond
    head = top - head_depth
    add_slab(np.zeros(3))
    if phase == 'DJ':
        height = head + length - head_depth + bond  # the far N sits in the next slab's bottom pocket
        lattice = Lattice([[a, 0, 0], [0, a, 0], [0, 0, height]])
        for element, xyz in zip(symbols, coords):
            add(element, [bond, bond, head] + xyz)
    else:
        # Spacer A stands on this slab's top pocket; spacer B hangs from the next
        # slab (shifted by half a cell) into its bottom pocket above this slab's
        # metal. Each chain end keeps ``clearance`` from the facing halide plane.
        height = top + (length - head_depth) + clearance + bond
        lattice = Lattice([[a, 0, 0], [0, a, 0], [bond, bond, height]])
        for element, xyz in zip(symbols, coords):
            add(element, [bond, bond, head] + xyz)
        for element, xyz in zip(symbols, coords):
            add(element, [0, 0, height - bond + head_depth] + xyz * [1, 1, -1])
    return Structure(lattice, species, np.array(positions), coords_are_cartesian=True)


def _hydrogen_directions(bonded: list[np.ndarray]) -> list[np.ndarray]:
    """Unit vectors to the hydrogens that complete a tetrahedral centre with ``bonded`` neighbours."""
    units = [vector / np.linalg.norm(vector) for vector in bonded]
    if len(units) == 2:
        bisector = -(units[0] + units[1])
        bisector /= np.linalg.norm(bisector)
        normal = np.cross(units[0], units[1])
        normal /= np.linalg.norm(normal)
        half = _TETRAHEDRAL / 2
        return [np.cos(half) * bisector + side * np.sin(half) * normal for side in (1, -1)]
    axis = -units[0]  # pointing away from the only neighbour
    helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    p = np.cross(axis, helper)
    p /= np.linalg.norm(p)
    q = np.cross(axis, p)
    tilt = np.pi - _TETRAHEDRAL
    return [
        np.cos(tilt) * axis + np.sin(tilt) * (np.cos(phi) * p + np.sin(phi) * q)
        for phi in np.radians([0.0, 120.0, 240.0])
    ]
