"""The lattice of a relaxed layered cell per unit cell, from the mean LAMMPS box of an NPT run.

Plain Python (no AiiDA). The LAMMPS box (``lx``, ``ly``, ``lz``, ``xy``...) is the supercell; the
cell's a and b lie in the layer plane, so ``lz`` over the stacking replication is the stacking
period (the perpendicular height per cell) and the in-plane vectors divide by the in-plane
replication. Experimental cells of (BA)2PbI4 and (PEA)2PbI4 hold two octahedra per layer and two
layers per cell, so the figures to compare with them are the edges of the sqrt(2) x sqrt(2) cell
and twice the stacking period.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ('RelaxedLattice', 'relaxed_lattice')


@dataclasses.dataclass(frozen=True)
class RelaxedLattice:
    """Per-cell lattice figures of a relaxed supercell (lengths in Angstrom, angles in degrees).

    :param replication: the supercell's replication along a, b, c.
    :param a: in-plane cell edge a.
    :param b: in-plane cell edge b.
    :param gamma: the angle between a and b.
    :param stacking_period: perpendicular height of one cell along the stacking.
    :param cell_edges: the two edges of the sqrt(2) x sqrt(2) cell (two octahedra per layer).
    """

    replication: tuple[int, int, int]
    a: float
    b: float
    gamma: float
    stacking_period: float
    cell_edges: tuple[float, float]

    @property
    def two_layer_period(self) -> float:
        """Twice the stacking period: the perpendicular period of a cell that holds two layers."""
        return 2 * self.stacking_period

    @property
    def supercell(self) -> str:
        """The replication as written for people, e.g. ``2x2x2``."""
        return 'x'.join(str(n) for n in self.replication)


def relaxed_lattice(summary: dict, replication, metals_per_layer: int = 1) -> RelaxedLattice:
    """Per-cell lattice of a temperature summary's box means (``lx_mean``, ``ly_mean``, ``xy_mean``, ``lz_mean``).

    :param replication: the supercell's replication ``(na, nb, nc)``, c crossing the layers.
    :param metals_per_layer: octahedra per layer in the cell: 1 (a one-octahedron cell, whose
        sqrt(2) x sqrt(2) edges are ``|a+b|`` and ``|a-b|``) or 2 (a herringbone cell, whose a and b
        are those edges already).
    """
    na, nb, nc = (int(n) for n in replication)
    a = np.array([summary['lx_mean'], 0.0]) / na
    b = np.array([summary['xy_mean'], summary['ly_mean']]) / nb
    length_a, length_b = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if metals_per_layer == 1:
        edges = (float(np.linalg.norm(a + b)), float(np.linalg.norm(a - b)))
    else:
        edges = (length_a, length_b)
    return RelaxedLattice(
        replication=(na, nb, nc),
        a=length_a,
        b=length_b,
        gamma=float(math.degrees(math.acos(a @ b / length_a / length_b))),
        stacking_period=float(summary['lz_mean'] / nc),
        cell_edges=edges,
    )
