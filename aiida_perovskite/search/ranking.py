"""Deduplication of relaxed candidates and their ranking by energy per formula unit (plain Python).

Two candidates are the same structure when pymatgen's ``StructureMatcher`` matches their cells with
every hydrogen removed (hydrogen positions are the least certain, and X-ray references often lack
them): the heavy-atom frameworks are compared up to translation, permutation of like atoms, choice of
cell (supercells included) and a uniform scaling. Within a group of matching candidates the one of
lowest energy per formula unit represents the group.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure

__all__ = ('MATCHER', 'Ranked', 'deduplicate', 'formula_units', 'heavy_atoms', 'matcher', 'rank', 'rms_distance')

#: StructureMatcher tolerances: fractional length, site and angle tolerances of pymatgen's defaults,
#: supercells allowed (a cell of 4 formula units may be a 2 x 2 of a cell of 1).
MATCHER = {'ltol': 0.2, 'stol': 0.3, 'angle_tol': 5.0, 'primitive_cell': True, 'scale': True,
           'attempt_supercell': True}


def matcher(**changes) -> StructureMatcher:
    return StructureMatcher(**{**MATCHER, **changes})


def heavy_atoms(structure: Structure) -> Structure:
    """A copy of ``structure`` without its hydrogens."""
    stripped = structure.copy()
    stripped.remove_species(['H'])
    return stripped


def formula_units(structure: Structure, metal: str, n: int = 1) -> int:
    """Formula units of a layered perovskite cell: metal atoms over the octahedral layers per slab ``n``."""
    metals = sum(1 for site in structure if site.specie.symbol == metal)
    if metals == 0 or metals % n:
        raise ValueError(f'{structure.composition.reduced_formula}: {metals} {metal} atom(s), not a multiple of n={n}')
    return metals // n


def rms_distance(structure: Structure, reference: Structure, **changes) -> float | None:
    """StructureMatcher's normalised RMS displacement between the hydrogen-free cells, or None (no match)."""
    found = matcher(**changes).get_rms_dist(heavy_atoms(structure), heavy_atoms(reference))
    return None if found is None else float(found[0])


@dataclasses.dataclass
class Ranked:
    """One distinct structure: its rank (1: lowest energy), its index and the indices it stands for."""

    rank: int
    index: int
    energy_per_fu: float
    duplicates: list[int]


def deduplicate(structures: list[Structure], energies: list[float] | None = None, **changes) -> list[list[int]]:
    """Groups of matching structures (indices), each sorted by energy (lowest first, else by index).

    Groups are ordered by their lowest member. ``changes`` override :data:`MATCHER`.
    """
    if energies is None:
        energies = [0.0] * len(structures)
    order = sorted(range(len(structures)), key=lambda i: (energies[i], i))
    stripped = {i: heavy_atoms(structures[i]) for i in order}
    compare = matcher(**changes)
    groups: list[list[int]] = []
    for i in order:
        for group in groups:
            representative = stripped[group[0]]
            if (representative.composition.reduced_composition == stripped[i].composition.reduced_composition
                    and compare.fit(representative, stripped[i])):
                group.append(i)
                break
        else:
            groups.append([i])
    return groups


def rank(structures: list[Structure], energies_per_fu: list[float], **changes) -> list[Ranked]:
    """Distinct structures by energy per formula unit (lowest first); a non-finite energy is left out."""
    keep = [i for i, energy in enumerate(energies_per_fu) if energy is not None and np.isfinite(energy)]
    groups = deduplicate([structures[i] for i in keep], [energies_per_fu[i] for i in keep], **changes)
    ranked = []
    for position, group in enumerate(groups, start=1):
        members = [keep[i] for i in group]
        ranked.append(Ranked(rank=position, index=members[0], energy_per_fu=float(energies_per_fu[members[0]]),
                             duplicates=members[1:]))
    return ranked
