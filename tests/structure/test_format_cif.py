"""The CIF writer gives the same text whatever sign floating-point noise leaves on a zero coordinate."""

import numpy as np
from pymatgen.core import Lattice, Structure

from aiida_perovskite.structure import format_cif, read_cif_text


def cell(y: float) -> Structure:
    return Structure(Lattice.orthorhombic(6.3, 6.3, 25.0), ['Pb', 'I', 'N'],
                     [[0.0, 0.0, 0.0], [0.5, y, 0.1], [0.25, 0.75, 0.4]])


def test_zero_written_without_sign():
    negative, positive = format_cif(cell(-8.6e-18)), format_cif(cell(5.1e-18))
    assert negative == positive
    assert '-0.00000000' not in negative
    assert '  I  I1  1  0.50000000  0.00000000  0.10000000  1' in negative


def test_only_zeros_are_touched():
    text = format_cif(cell(-2e-8))  # rounds to -0.00000002: a real coordinate, kept
    assert '-0.00000002' in text
    assert '0.75000000' in text
    read = read_cif_text(format_cif(cell(-1e-17)))
    assert np.allclose(read.lattice.abc, (6.3, 6.3, 25.0))
    assert [site.species_string for site in read] == ['Pb', 'I', 'N']
