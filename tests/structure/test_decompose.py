"""Decomposition of cells whose answer is known by construction."""

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from aiida_perovskite.builder import alkylammonium, layered_perovskite
from aiida_perovskite.structure import decompose, inspect_cif


def max_bond_length(molecule):
    return max(np.linalg.norm(molecule.cartesian[i] - molecule.cartesian[j]) for i, j in molecule.edges)


@pytest.mark.parametrize(
    ('spacer', 'phase', 'n', 'a_cation', 'smiles', 'charge', 'count', 'a_site'),
    [
        (alkylammonium(4), 'RP', 1, 'MA', 'CCCC[NH3+]', 1, 2, None),
        (alkylammonium(4, True), 'DJ', 1, 'MA', '[NH3+]CCCC[NH3+]', 2, 1, None),
        (alkylammonium(4), 'RP', 2, 'MA', 'CCCC[NH3+]', 1, 2, 'C[NH3+]'),
        (alkylammonium(6, True), 'DJ', 3, 'Cs', '[NH3+]CCCCCC[NH3+]', 2, 1, None),
    ],
)
def test_known_cells(spacer, phase, n, a_cation, smiles, charge, count, a_site):
    """Spacer identity, charge, copies, A-site cations and n come out as built."""
    decomposition = decompose(layered_perovskite(spacer, phase=phase, n=n, a_cation=a_cation))
    assert [(s.smiles, s.charge, s.count) for s in decomposition.spacers] == [(smiles, charge, count)]
    assert [m.smiles for m in decomposition.a_site_molecules] == ([a_site] if a_site else [])
    assert decomposition.n_layers == n
    assert decomposition.stacking_axis == 'c'
    assert decomposition.oxidation_states == {'Pb': 2}


def test_molecules_crossing_the_cell_are_unwrapped(butylammonium_rp):
    """Shifting the origin so every molecule crosses a boundary changes nothing but where they are."""
    reference = decompose(butylammonium_rp)
    shifted = butylammonium_rp.copy()
    shifted.translate_sites(range(len(shifted)), [0.37, 0.61, 0.5], frac_coords=True, to_unit_cell=True)
    wrapped_lengths = [
        shifted.lattice.get_cartesian_coords(shifted[i].frac_coords) for i in reference.molecules[0].indices
    ]
    assert np.ptp(np.array(wrapped_lengths), axis=0).max() > 6  # the wrapped copy really is split apart

    decomposition = decompose(shifted)
    assert [(s.smiles, s.count) for s in decomposition.spacers] == [('CCCC[NH3+]', 2)]
    for molecule in decomposition.molecules:
        assert max_bond_length(molecule) < 1.6
    assert decomposition.interlayer_distance == pytest.approx(reference.interlayer_distance, abs=1e-6)
    # The unwrapped structure keeps every molecule whole, with its centroid in the home cell.
    unwrapped = decomposition.unwrapped
    for molecule in decomposition.molecules:
        coords = unwrapped.cart_coords[molecule.indices]
        assert np.allclose(coords - coords[0], molecule.cartesian - molecule.cartesian[0])
        centroid = unwrapped.lattice.get_fractional_coords(coords.mean(axis=0))
        assert np.all((centroid >= 0) & (centroid < 1))


@pytest.mark.parametrize('axis', ['a', 'b'])
def test_stacking_axis_follows_the_layers(butanediammonium_dj, axis):
    """Relabelling the lattice vectors moves the stacking axis with them."""
    order = {'a': [2, 0, 1], 'b': [1, 2, 0]}[axis]
    matrix = butanediammonium_dj.lattice.matrix[order]
    frac = butanediammonium_dj.frac_coords[:, order]
    permuted = Structure(Lattice(matrix), butanediammonium_dj.species, frac)
    decomposition = decompose(permuted)
    assert decomposition.stacking_axis == axis
    assert decomposition.stacking_period == pytest.approx(butanediammonium_dj.lattice.c)


def test_triclinic_cell_geometry(butylammonium_rp):
    """In the monoclinic RP cell the stacking period is the plane spacing, not the length of c."""
    decomposition = decompose(butylammonium_rp)
    lattice = butylammonium_rp.lattice
    assert lattice.alpha < 85  # the cell really is oblique
    assert decomposition.stacking_period == pytest.approx(lattice.volume / (lattice.a * lattice.b))
    # Slab: apical I at -3.17 and +3.17 A; the next slab starts one period up.
    assert decomposition.interlayer_distance == pytest.approx(decomposition.stacking_period - 2 * 3.17, abs=1e-6)


def test_supercell_has_same_spacer_and_more_copies(butylammonium_rp):
    supercell = butylammonium_rp * (2, 2, 1)
    decomposition = decompose(supercell)
    assert [(s.smiles, s.count) for s in decomposition.spacers] == [('CCCC[NH3+]', 8)]
    assert decomposition.n_layers == 1
    assert decomposition.interlayer_distance == pytest.approx(decompose(butylammonium_rp).interlayer_distance)


def test_fragment_counts_of_butylammonium(butylammonium_rp):
    """Joint degree distributions of CH3(CH2)3NH3+ counted by hand."""
    fragments = decompose(butylammonium_rp).spacers[0].fragments
    assert fragments == {
        'C': 4, 'H': 12, 'N': 1,
        'C-C': 3, 'C-H': 9, 'C-N': 1, 'H-N': 3,
        'C-C-C': 2, 'C-C-H': 13, 'C-C-N': 1, 'C-N-H': 3, 'H-C-H': 6, 'H-C-N': 2, 'H-N-H': 3,
        'C-C-C-C': 1, 'C-C-C-H': 9, 'C-C-C-N': 1, 'C-C-N-H': 3, 'H-C-C-H': 14, 'H-C-C-N': 2, 'H-C-N-H': 6,
    }


def test_record_is_json_ready(butylammonium_rp, write_cif):
    import json

    decomposition = inspect_cif(write_cif(butylammonium_rp, 'ba.cif'))
    record = json.loads(json.dumps(decomposition.as_dict()))
    assert record['file'].endswith('ba.cif')
    spacer = record['spacers'][0]
    assert spacer['copies'][0] == decomposition.molecules[0].indices
    assert sorted(map(sorted, spacer['copies'])) == sorted(sorted(m.indices) for m in decomposition.molecules)
    # Every copy is listed in the template's atom order: same elements, same bonds, same lengths.
    sites = decomposition.unwrapped
    for copy in spacer['copies']:
        assert [sites[i].specie.symbol for i in copy] == spacer['symbols']
        for i, j, order in spacer['bonds']:
            assert sites[copy[i]].distance(sites[copy[j]]) < 1.6 and order == 1
    assert record['n_layers'] == 1 and record['stacking_axis'] == 'c'
    read_back = decomposition.structure  # the CIF writer orders sites its own way
    assert record['inorganic_indices'] == [i for i, site in enumerate(read_back) if site.specie.symbol in ('Pb', 'I')]
