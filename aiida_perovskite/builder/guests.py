"""Neutral guest molecules (lattice water, solvents, zwitterions) put into the gallery of a layered cell.

Hydrated and solvated hybrid perovskites are common among experimental crystals; this makes such
cells from any built (or read) one, so the decomposition and the force field can be tested on
them. The host's gallery is widened by ``gap`` along the layer normal, at the plane halfway
between adjacent slabs: every molecule (by its centroid) and every slab atom keeps its Cartesian
position within one stacking period that starts at that plane, and the stacking vector grows by
``gap`` along the normal. The guests are then placed, one at a time, at random in-plane positions
and orientations at mid-gap, each kept at least ``contact_factor`` times the sum of van der Waals
radii from every other atom (the builder's contact rule).
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Lattice, Structure

from .builder import VDW_RADII
from .errors import BuildError
from .spacer import molecule_from_smiles

__all__ = ('add_guests',)

#: Random placements tried per guest before giving up.
_TRIALS = 500


def add_guests(
    structure: Structure,
    smiles: str,
    count: int,
    gap: float | None = None,
    contact_factor: float = 0.8,
    seed: int = 0,
) -> Structure:
    """The cell ``structure`` with ``count`` copies of the neutral molecule ``smiles`` in its gallery.

    :param gap: how much the gallery is widened (Angstrom); by default the guest's largest
        extent plus 2 A.
    :raises BuildError: the host is not one slab per cell stacked along a lattice vector, or the
        guests do not fit.
    """
    from aiida_perovskite.structure import StructureError, decompose

    try:
        host = decompose(structure, name='host cell')
    except StructureError as error:
        raise BuildError(f'the host cell does not decompose: {type(error).__name__}: {error}') from None
    axes = [axis for axis, value in enumerate(host.miller_index) if value]
    if len(axes) != 1 or len(host.slabs) != 1:
        raise BuildError('guests need a host with one slab per cell stacked along a lattice vector')
    symbols, coords = molecule_from_smiles(smiles)
    coords = coords - coords.mean(axis=0)
    extent = float(max(np.linalg.norm(a - b) for a in coords for b in coords)) if len(coords) > 1 else 0.0
    gap = extent + 2.0 if gap is None else float(gap)

    lattice = host.unwrapped.lattice
    stacking = lattice.matrix[axes[0]]
    reciprocal = np.array(host.miller_index, dtype=float) @ lattice.reciprocal_lattice_crystallographic.matrix
    sign = 1.0 if stacking @ reciprocal > 0 else -1.0  # the slab heights are along the reciprocal vector
    normal = sign * reciprocal / np.linalg.norm(reciprocal)
    period = float(stacking @ normal)
    cut = sign * host.slabs[0].centre + period / 2  # halfway between the slab and the next one

    cartesian = lattice.get_cartesian_coords(host.unwrapped.frac_coords)
    groups = [molecule.indices for molecule in host.molecules] + [[i] for i in host.inorganic_indices]
    for members in groups:
        height = float(cartesian[members].mean(axis=0) @ normal)
        cartesian[members] -= np.floor((height - cut) / period) * stacking

    matrix = lattice.matrix.copy()
    matrix[axes[0]] = stacking + gap * normal
    widened = Lattice(matrix)
    species = [site.species for site in host.unwrapped]
    radii = [VDW_RADII.get(site.specie.symbol, 2.0) for site in host.unwrapped]
    positions = list(cartesian)
    rng = np.random.default_rng(seed)
    in_plane = [lattice.matrix[axis] for axis in range(3) if axis != axes[0]]
    guest_radii = np.array([VDW_RADII.get(symbol, 2.0) for symbol in symbols])
    for number in range(int(count)):
        for _ in range(_TRIALS):
            rotation = _random_rotation(rng)
            u, v = rng.random(2)
            centre = cut - gap / 2 + u * in_plane[0] + v * in_plane[1]
            centre = centre - (centre @ normal - (cut - gap / 2)) * normal
            placed = coords @ rotation.T + centre
            distances = widened.get_all_distances(
                widened.get_fractional_coords(placed), widened.get_fractional_coords(np.array(positions))
            )
            if np.all(distances >= contact_factor * (guest_radii[:, None] + np.array(radii)[None, :])):
                break
        else:
            raise BuildError(
                f'guest {smiles} number {number + 1} of {count} does not fit in a {gap:.1f} A gap: widen it (gap=...)'
            )
        positions.extend(placed)
        species.extend(symbols)
        radii.extend(guest_radii)
    return Structure(widened, species, np.array(positions), coords_are_cartesian=True)


def _random_rotation(rng) -> np.ndarray:
    """A uniformly random rotation matrix (from a random unit quaternion)."""
    q = rng.normal(size=4)
    a, b, c, d = q / np.linalg.norm(q)
    return np.array([
        [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
        [2 * (b * c + a * d), a * a - b * b + c * c - d * d, 2 * (c * d - a * b)],
        [2 * (b * d - a * c), 2 * (c * d + a * b), a * a - b * b - c * c + d * d],
    ])
