"""Crystal graphs for CGCNN (Xie and Grossman, Phys. Rev. Lett. 120, 145301, 2018), built here from the cell.

Nodes are the atoms of the cell, described by a one-hot element vector; each atom is joined to its
``max_neighbours`` nearest periodic neighbours within ``cutoff`` (the paper takes 12 neighbours within 8 A), and each edge
carries the distance expanded in Gaussians ``exp(-(d - mu_k)^2 / step^2)`` with centres ``mu_k`` every
``step`` A from 0 to ``cutoff`` (the paper: 0.2 A). The paper's node vector also holds group, period,
electronegativity, radius and more in one-hot bins; here the element one-hot is used (the elements of the
hybrid perovskites are few), see :data:`ELEMENTS`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ('ELEMENTS', 'CrystalGraph', 'GraphSettings', 'crystal_graph')

#: Elements with their own node feature; any other element shares the last slot.
ELEMENTS = ('H', 'C', 'N', 'O', 'F', 'S', 'Cl', 'Br', 'I', 'Pb', 'Sn', 'Ge', 'Cs', 'Bi', 'Cu', 'Mn', 'Cd')


@dataclasses.dataclass(frozen=True)
class GraphSettings:
    cutoff: float = 6.0
    max_neighbours: int = 12
    step: float = 0.2

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def centres(self) -> np.ndarray:
        return np.arange(0.0, self.cutoff + 1e-9, self.step)


@dataclasses.dataclass
class CrystalGraph:
    """``nodes`` (n, len(ELEMENTS) + 1), ``edges`` (n, M, n_gauss), ``neighbours`` (n, M) indices, ``mask`` (n, M)
    true where an edge exists (fewer than M neighbours within the cutoff)."""

    nodes: np.ndarray
    edges: np.ndarray
    neighbours: np.ndarray
    mask: np.ndarray


def node_features(symbols) -> np.ndarray:
    nodes = np.zeros((len(symbols), len(ELEMENTS) + 1), dtype=np.float32)
    for row, symbol in enumerate(symbols):
        nodes[row, ELEMENTS.index(symbol) if symbol in ELEMENTS else len(ELEMENTS)] = 1.0
    return nodes


def crystal_graph(structure, settings: GraphSettings | None = None) -> CrystalGraph:
    """The crystal graph of a pymatgen ``Structure``."""
    settings = settings or GraphSettings()
    n, m = len(structure), settings.max_neighbours
    centres, points, _, distances = structure.get_neighbor_list(settings.cutoff)
    neighbours = np.zeros((n, m), dtype=np.int64)
    length = np.full((n, m), settings.cutoff)
    mask = np.zeros((n, m), dtype=bool)
    for atom in range(n):
        rows = np.flatnonzero((centres == atom) & (distances > 1e-6))
        rows = rows[np.argsort(distances[rows], kind='stable')][:m]
        neighbours[atom, :len(rows)] = points[rows]
        length[atom, :len(rows)] = distances[rows]
        mask[atom, :len(rows)] = True
    gauss = np.exp(-((length[..., None] - settings.centres) ** 2) / settings.step**2).astype(np.float32)
    gauss[~mask] = 0.0
    return CrystalGraph(node_features([site.specie.symbol for site in structure]), gauss, neighbours, mask)
