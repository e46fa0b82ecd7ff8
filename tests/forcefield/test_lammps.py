"""LAMMPS writer: triclinic box, replication, neutrality, files LAMMPS reads."""

import numpy as np
import pytest
from pymatgen.core import Lattice

from aiida_perovskite.forcefield import load_parameter_set
from aiida_perovskite.forcefield.lammps import ForceFieldError, auto_replication, build_system, lammps_box


def box_parameters(box):
    """a, b, c, alpha, beta, gamma of a LAMMPS box (lx, ly, lz, xy, xz, yz)."""
    lx, ly, lz, xy, xz, yz = box
    return Lattice([[lx, 0, 0], [xy, ly, 0], [xz, yz, lz]]).parameters


def test_triclinic_box_keeps_the_cell():
    lattice = Lattice.from_parameters(12.3, 12.1, 14.7, 91.2, 88.9, 88.95)
    _, box = lammps_box(lattice.matrix)
    assert np.allclose(box_parameters(box), lattice.parameters)
    # Rotating the crystal changes nothing.
    rotation = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))[0]
    assert np.allclose(lammps_box(lattice.matrix @ rotation.T)[1], box)


def test_auto_replication():
    lattice = Lattice.from_parameters(8.4, 9.0, 26.1, 90, 90, 90).matrix
    assert auto_replication(lattice, 12.0) == (3, 3, 1)


def ions_only(structure):
    return [(site.specie.symbol, site.coords) for site in structure]


def test_ions_replicated_and_neutral():
    from pymatgen.core import Structure

    pbi2 = Structure(Lattice.hexagonal(4.56, 6.98), ['Pb', 'I', 'I'],
                     [[0, 0, 0], [1 / 3, 2 / 3, 0.25], [2 / 3, 1 / 3, 0.75]])
    system = build_system(None, ions_only(pbi2), pbi2.lattice.matrix, load_parameter_set('myp-pbi'),
                          replication=(2, 2, 1))
    assert len(system.atoms) == 12
    assert system.net_charge == pytest.approx(0)
    assert np.allclose(box_parameters(system.box), (9.12, 9.12, 6.98, 90, 90, 120))
    styles = {style for _, _, style, _ in system.pair_coefficients()}
    assert styles == {'buck/coul/long'}


def test_net_charge_is_refused():
    from pymatgen.core import Structure

    lone = Structure(Lattice.cubic(6), ['Pb', 'I'], [[0, 0, 0], [0.5, 0, 0]])
    with pytest.raises(ForceFieldError, match='net charge of \\+1.000000 e'):
        build_system(None, ions_only(lone), lone.lattice.matrix, load_parameter_set('myp-pbi'))


def test_layer_replication_follows_the_stacking_axis():
    from aiida_perovskite.forcefield.lammps import layer_replication, resolve_replication

    assert layer_replication((0, 0, 1), 2, 1) == (2, 2, 1)
    assert layer_replication((1, 0, 0), 3, 2) == (2, 3, 3)
    with pytest.raises(ValueError, match='do not contain two lattice vectors'):
        layer_replication((1, 1, 0), 2, 1)
    lattice = np.diag([8.0, 8.0, 30.0])
    assert resolve_replication({'in_plane': 2, 'stacking': 1}, lattice, 12.0, (0, 1, 0)) == (2, 1, 2)
    assert resolve_replication('auto', lattice, 12.0) == (3, 3, 1)
    with pytest.raises(ValueError, match='needs the stacking direction'):
        resolve_replication({'in_plane': 2, 'stacking': 1}, lattice, 12.0)
