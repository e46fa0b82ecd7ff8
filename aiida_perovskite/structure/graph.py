"""Periodic bond graph: which atoms are bonded, through which periodic image.

Two atoms are bonded when their distance is below the sum of their covalent
radii plus a tolerance (0.4 Angstrom in the method this package automates).
Each bond remembers the lattice translation ("image") that joins the two atoms,
which is what lets molecules be unwrapped across cell boundaries and lets the
dimensionality of a connected network (0D molecule, 2D layer, 3D framework)
be read off exactly instead of guessed from coordinates.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from functools import reduce

import numpy as np
from pymatgen.core import Structure

from .elements import COVALENT_RADII, HALOGENS, METAL_OXIDATION_STATES
from .errors import AtomsTooCloseError

__all__ = ('BondGraph', 'PeriodicComponent', 'bond_graph', 'periodic_components')


@dataclasses.dataclass
class BondGraph:
    """Bonds of a periodic structure.

    ``neighbours[i]`` lists ``(j, image)``: atom ``j`` displaced by the integer
    lattice translation ``image`` is bonded to atom ``i`` in the home cell.
    """

    symbols: list[str]
    neighbours: list[list[tuple[int, tuple[int, int, int]]]]
    distances: dict[tuple[int, int, tuple[int, int, int]], float]
    radii: np.ndarray
    tolerance: float

    def bond_limit(self, i: int, j: int) -> float:
        """The covalent bond limit of a pair: radii sum + the (non-framework) tolerance."""
        return float(self.radii[i] + self.radii[j] + self.tolerance)


@dataclasses.dataclass
class PeriodicComponent:
    """A connected set of atoms with the image each atom takes to be contiguous."""

    members: list[int]
    images: dict[int, np.ndarray]
    #: Integer lattice vectors along which the component repeats into itself.
    periodic_vectors: list[np.ndarray]

    @property
    def dimension(self) -> int:
        """0 for a finite molecule or cluster, 1 for a chain, 2 for a layer, 3 for a framework."""
        return len(self.periodic_vectors)

    def miller_index(self) -> tuple[int, int, int]:
        """Miller index ``(h, k, l)`` of the lattice plane a 2D component spans."""
        if self.dimension != 2:
            raise ValueError(f'a {self.dimension}D component spans no single plane')
        normal = np.cross(*self.periodic_vectors).astype(int)
        divisor = reduce(math.gcd, (abs(int(value)) for value in normal))
        normal = normal // divisor
        # A canonical sign: the first non-zero entry positive.
        if normal[np.flatnonzero(normal)[0]] < 0:
            normal = -normal
        return tuple(int(value) for value in normal)


def bond_graph(
    structure: Structure,
    tolerance: float = 0.4,
    framework_tolerance: float = 1.75,
    coordination: int = 6,
    min_distance_factor: float = 0.6,
    name: str | None = None,
    radii: dict[str, float] = COVALENT_RADII,
) -> BondGraph:
    """Return the bond graph of ``structure``.

    :param tolerance: added to the sum of covalent radii to decide a bond (Angstrom).
    :param framework_tolerance: the same for metal-halide pairs, where each metal
        bonds to at most its ``coordination`` nearest halides within this reach.
        Off-centred octahedra in relaxed cells have three short and three long
        B-X bonds (Pb-I up to 4.4 A against 3.25 A for radii + 0.4 A), while the
        nearest non-bonded Pb-I in a layer is beyond 5 A: nearest-six within
        radii + 1.75 A (Pb-I 4.6 A) finds the octahedra without joining layers.
    :param coordination: the most halides one metal bonds to (octahedral: 6).
    :param min_distance_factor: two atoms closer than this fraction of their radii
        sum (or closer than 0.5 A) are an error, not a bond.
    :raises AtomsTooCloseError: listing the offending pairs.
    """
    symbols = [site.specie.symbol for site in structure]
    radius = np.array([radii[symbol] for symbol in symbols])
    is_metal = np.array([symbol in METAL_OXIDATION_STATES for symbol in symbols])
    is_halogen = np.array([symbol in HALOGENS for symbol in symbols])
    cutoff = 2 * radius.max() + max(tolerance, framework_tolerance)
    centres, points, offsets, distances = structure.get_neighbor_list(cutoff)

    framework_pair = (is_metal[centres] & is_halogen[points]) | (is_halogen[centres] & is_metal[points])
    bonded = ~framework_pair & (distances < radius[centres] + radius[points] + tolerance)
    bonded |= _nearest_framework_bonds(
        centres, points, offsets, distances,
        framework_pair & (distances < radius[centres] + radius[points] + framework_tolerance),
        is_metal, coordination,
    )
    too_close = distances < np.maximum(0.5, min_distance_factor * (radius[centres] + radius[points]))
    if too_close.any():
        pairs = []
        for i, j, distance in zip(centres[too_close], points[too_close], distances[too_close]):
            if i <= j:
                pairs.append(f'{_label(structure, i)}-{_label(structure, j)} {distance:.2f} A')
        raise AtomsTooCloseError(
            f'{len(pairs)} pair(s) of atoms closer than physically possible: {", ".join(pairs[:5])}'
            + (' ...' if len(pairs) > 5 else '')
            + '; overlapping or duplicated sites?',
            name,
        )

    neighbours: list[list[tuple[int, tuple[int, int, int]]]] = [[] for _ in symbols]
    bond_distances = {}
    for i, j, image, distance in zip(
        centres[bonded], points[bonded], offsets[bonded].astype(int), distances[bonded]
    ):
        image = (int(image[0]), int(image[1]), int(image[2]))
        neighbours[int(i)].append((int(j), image))
        bond_distances[(int(i), int(j), image)] = float(distance)
    return BondGraph(
        symbols=symbols, neighbours=neighbours, distances=bond_distances, radii=radius, tolerance=tolerance
    )


def _nearest_framework_bonds(centres, points, offsets, distances, candidate, is_metal, coordination):
    """Mark each metal's ``coordination`` nearest candidate halides, seen from both ends."""
    chosen = set()
    for metal in np.unique(centres[candidate & is_metal[centres]]):
        rows = np.flatnonzero(candidate & (centres == metal))
        for row in rows[np.argsort(distances[rows], kind='stable')][:coordination]:
            chosen.add((int(metal), int(points[row]), tuple(int(x) for x in offsets[row])))
    bonded = np.zeros(len(centres), dtype=bool)
    for row in np.flatnonzero(candidate):
        i, j, image = int(centres[row]), int(points[row]), tuple(int(x) for x in offsets[row])
        if is_metal[i]:
            bonded[row] = (i, j, image) in chosen
        else:
            bonded[row] = (j, i, tuple(-x for x in image)) in chosen
    return bonded


def periodic_components(graph: BondGraph, nodes, edge_filter=None) -> list[PeriodicComponent]:
    """Connected components of ``graph`` restricted to ``nodes``.

    Each atom gets the image that makes its component contiguous (breadth-first
    along bonds from the lowest index, so a molecule longer than half the cell is
    still unwrapped correctly). A bond that closes a loop through a non-zero
    lattice translation is a periodic direction of the component.

    :param edge_filter: optional ``f(i, j) -> bool`` that keeps a bond.
    """
    nodes = sorted(set(nodes))
    inside = set(nodes)
    seen: set[int] = set()
    components = []
    for start in nodes:
        if start in seen:
            continue
        images = {start: np.zeros(3, dtype=int)}
        members = [start]
        seen.add(start)
        cycles: list[np.ndarray] = []
        queue = deque([start])
        while queue:
            i = queue.popleft()
            for j, image in graph.neighbours[i]:
                if j not in inside or (edge_filter is not None and not edge_filter(i, j)):
                    continue
                target = images[i] + image
                if j not in images:
                    images[j] = target
                    members.append(j)
                    seen.add(j)
                    queue.append(j)
                else:
                    cycle = target - images[j]
                    if cycle.any():
                        cycles.append(cycle)
        components.append(PeriodicComponent(sorted(members), images, _independent(cycles)))
    return components


def _independent(vectors: list[np.ndarray]) -> list[np.ndarray]:
    """A greedy set of linearly independent vectors from ``vectors`` (smallest first)."""
    basis: list[np.ndarray] = []
    for vector in sorted(vectors, key=lambda v: (np.abs(v).sum(), tuple(v))):
        candidate = basis + [vector]
        if np.linalg.matrix_rank(np.array(candidate, dtype=float)) == len(candidate):
            basis.append(vector)
        if len(basis) == 3:
            break
    return basis


def _label(structure: Structure, index: int) -> str:
    site = structure[int(index)]
    return site.label if site.label and site.label != site.species_string else f'{site.specie.symbol}{index}'
