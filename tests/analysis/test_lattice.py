"""Per-cell lattice of a relaxed supercell from the mean LAMMPS box (analysis.lattice)."""

import math

import pytest

from aiida_perovskite.analysis.lattice import relaxed_lattice


def box(lx, ly, xy, lz):
    return {'lx_mean': lx, 'ly_mean': ly, 'xy_mean': xy, 'lz_mean': lz, 'xz_mean': 0.0, 'yz_mean': 0.0}


def test_herringbone_cell_edges_are_a_and_b():
    """A 2x2x2 supercell of the (BA)2PbI4 low-temperature cell: 8.42 x 9.00 A, 13.04 A per layer."""
    lattice = relaxed_lattice(box(16.84, 18.0, 0.0, 26.08), (2, 2, 2), metals_per_layer=2)
    assert (lattice.a, lattice.b, lattice.gamma) == pytest.approx((8.42, 9.0, 90.0))
    assert lattice.cell_edges == pytest.approx((8.42, 9.0))
    assert lattice.stacking_period == pytest.approx(13.04)
    assert lattice.two_layer_period == pytest.approx(26.08)
    assert lattice.supercell == '2x2x2'


def test_one_octahedron_cell_edges_are_the_diagonals():
    """A skewed one-octahedron cell, a = (6, 0) and b = (1, 6) per cell, in a 3x2x4 supercell."""
    lattice = relaxed_lattice(box(18.0, 12.0, 2.0, 4 * 12.5), (3, 2, 4))
    assert lattice.a == pytest.approx(6.0)
    assert lattice.b == pytest.approx(math.sqrt(37))
    assert lattice.gamma == pytest.approx(math.degrees(math.acos(6 / (6 * math.sqrt(37)))))  # 80.5 degrees
    assert lattice.cell_edges == pytest.approx((math.sqrt(49 + 36), math.sqrt(25 + 36)))  # |a + b|, |a - b|
    assert lattice.stacking_period == pytest.approx(12.5)
    assert lattice.supercell == '3x2x4'
