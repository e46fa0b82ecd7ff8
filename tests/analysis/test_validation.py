"""Cell comparison (per axis and per metal, named by direction), octahedra check, CIF temperatures."""

import math

import numpy as np
import pytest

from aiida_perovskite.analysis.validation import (
    OCTAHEDRON_CUTOFF,
    OCTAHEDRON_STRETCH,
    Cell,
    ammonium_contacts,
    cell_figures,
    compare_cells,
    compare_with_reference,
    octahedra_check,
    octahedron_cutoffs,
    reference_from_parameters,
    simulated_lattice,
    summary_line,
)
from aiida_perovskite.structure import decompose
from aiida_perovskite.structure.cif import measurement_temperature


def test_per_metal_figures_do_not_depend_on_the_cell_choice():
    """One octahedron per layer in a 6.3 A cell and the sqrt(2) x sqrt(2), two-layer cell of the same crystal."""
    primitive = reference_from_parameters(6.3, 6.3, 13.0, 90, 90, 90)
    conventional = reference_from_parameters(6.3 * np.sqrt(2), 6.3 * np.sqrt(2), 26.0, 90, 90, 90)
    small = cell_figures(primitive, stacking=2, metals=1, slabs=1)
    large = cell_figures(conventional, stacking=2, metals=4, slabs=2)
    for key in ('volume_per_metal', 'in_plane_area_per_metal', 'in_plane_edge', 'layer_spacing'):
        assert small[key] == pytest.approx(large[key])
    assert small['in_plane_edge'] == pytest.approx(6.3 * np.sqrt(2))
    assert small['layer_spacing'] == pytest.approx(13.0)
    # An n = 2 slab holds twice the metals over the same area.
    assert cell_figures(primitive, 2, metals=2, slabs=1, n_layers=2)['in_plane_area_per_metal'] == pytest.approx(6.3**2)


def test_layer_spacing_is_the_perpendicular_height():
    tilted = reference_from_parameters(8.74, 8.74, 33.0, 84.7, 84.7, 90.0)
    figures = cell_figures(tilted, stacking=2, metals=4, slabs=2)
    assert figures['layer_spacing'] == pytest.approx(figures['volume'] / (8.74 * 8.74) / 2)
    assert figures['layer_spacing'] < 33.0 / 2
    assert (figures['alpha'], figures['beta'], figures['gamma']) == pytest.approx((84.7, 84.7, 90.0))


def test_rows_name_in_plane_and_stacking():
    reference = cell_figures(reference_from_parameters(8.4, 9.0, 26.0, 90, 90, 90), 2, 4, 2)
    simulated = cell_figures(reference_from_parameters(8.4 * 1.02, 9.0, 26.0 * 1.10, 90, 92, 90), 2, 4, 2)
    rows = {row['quantity']: row for row in compare_cells(simulated, reference, stacking=2, same_cell=True)}
    assert rows['a']['direction'] == 'in-plane' and rows['a']['deviation'] == pytest.approx(2.0)
    assert rows['c']['direction'] == 'stacking' and rows['c']['deviation'] == pytest.approx(10.0)
    assert rows['gamma']['direction'] == 'in-plane' and rows['beta']['direction'] == 'stacking'
    assert rows['beta']['deviation'] == pytest.approx(2.0) and rows['beta']['deviation_unit'] == 'deg'
    headline = summary_line(list(rows.values()))
    assert headline['in_plane'] == pytest.approx(2.0)
    assert headline['stacking'] == pytest.approx(100 * (26 * 1.1 * np.sin(np.radians(92)) / 26 - 1))
    # A stacking along a: the in-plane axes are b and c.
    rows = {row['quantity']: row for row in compare_cells(simulated, reference, stacking=0, same_cell=True)}
    assert rows['a']['direction'] == 'stacking' and rows['alpha']['direction'] == 'in-plane'
    # Different cell choices: per-metal rows only.
    assert {row['quantity'] for row in compare_cells(simulated, reference, 2, same_cell=False)} == {
        'in-plane edge sqrt(2 x area per B)', 'in-plane area per B', 'layer spacing', 'volume per B'}


def test_simulated_lattice_divides_the_box_by_the_replication():
    summary = {'lx_mean': 20.0, 'ly_mean': 18.0, 'lz_mean': 30.0, 'xy_mean': 2.0, 'xz_mean': 1.0, 'yz_mean': -3.0}
    lattice = simulated_lattice(summary, [2, 2, 1])
    assert np.allclose(lattice, [[10, 0, 0], [1, 9, 0], [1, -3, 30]])


def _moved(structure, index, distance):
    """``structure`` with site ``index`` moved ``distance`` A further from its nearest metal."""
    moved = structure.copy()
    lead = min((site for site in moved if site.specie.symbol == 'Pb'), key=lambda site: site.distance(moved[index]))
    direction = moved[index].coords - lead.coords
    direction /= np.linalg.norm(direction)
    moved.replace(index, moved[index].specie.symbol, moved[index].coords + distance * direction, coords_are_cartesian=True)
    return moved


def _check(structure, cutoff):
    return octahedra_check([s.specie.symbol for s in structure], structure.cart_coords, structure.lattice.matrix,
                           ['Pb'], ['I', 'Br'], cutoff)


def test_octahedra_check_scales_with_the_cells_own_bond(butylammonium_rp):
    structure = butylammonium_rp
    symbols = [site.specie.symbol for site in structure]
    lead = next(site for site in structure if site.specie.symbol == 'Pb')
    bonds = sorted(n.nn_distance for n in structure.get_neighbors(lead, 4.5) if n.specie.symbol == 'I')
    assert len(bonds) == 6 and 3.0 < np.median(bonds) < 3.4  # a Pb-I bond, not a unit slip
    cutoffs = octahedron_cutoffs(symbols, structure.cart_coords, structure.lattice.matrix, ['Pb'], ['I'])
    assert cutoffs == {'I': pytest.approx(OCTAHEDRON_STRETCH * np.median(bonds), abs=1e-3)}
    intact = _check(structure, cutoffs)
    assert (intact['intact'], intact['metals'], intact['share']) == (1, 1, 1.0)
    assert intact['longest'] == [pytest.approx(bonds[-1], abs=1e-3)]

    iodide = next(i for i, site in enumerate(structure) if site.specie.symbol == 'I'
                  and abs(site.distance(lead) - np.median(bonds)) < 0.3)
    bond = structure[iodide].distance(lead)
    # a lone-pair-like long bond (1.21 x; Sn-I in (S-MBA)2SnI4 reaches 1.18 x) is still an octahedron; a
    # halide pulled 1.35 x away is not, and neither is one 1.5 A off (the old fixed-cutoff test case)
    assert _check(_moved(structure, iodide, 0.21 * bond), cutoffs)['intact'] == 1
    assert _check(_moved(structure, iodide, 0.35 * bond), cutoffs)['intact'] == 0
    assert _check(_moved(structure, iodide, 1.5), cutoffs)['share'] == 0.0
    # the same stretch judged by the old fixed 3.8 A cutoff is already broken
    assert _check(_moved(structure, iodide, 0.21 * bond), OCTAHEDRON_CUTOFF)['intact'] == 0


def test_octahedra_check_cutoff_per_halide_and_no_seventh(butylammonium_rp):
    structure = butylammonium_rp
    lead = next(site for site in structure if site.specie.symbol == 'Pb')
    iodides = [i for i, site in enumerate(structure) if site.specie.symbol == 'I' and site.distance(lead) < 3.6]
    mixed = structure.copy()
    mixed.replace(iodides[0], 'Br', mixed[iodides[0]].coords, coords_are_cartesian=True)
    symbols = [site.specie.symbol for site in mixed]
    cutoffs = octahedron_cutoffs(symbols, mixed.cart_coords, mixed.lattice.matrix, ['Pb'], ['I', 'Br'])
    assert set(cutoffs) == {'I', 'Br'}
    assert _check(mixed, cutoffs)['intact'] == 1
    assert _check(mixed, {'I': cutoffs['I']})['intact'] == 0  # a halide with no cutoff is not bonded
    # a seventh halide inside the cutoff: not an octahedron any more
    crowded = mixed.copy()
    crowded.append('I', lead.coords + 3.3 * np.array([0.577, 0.577, 0.577]),
                   coords_are_cartesian=True)
    assert _check(crowded, cutoffs)['intact'] == 0


def test_ammonium_contacts_measure_each_heads_shortest_n_to_halide(butylammonium_rp):
    structure = butylammonium_rp
    symbols = [site.specie.symbol for site in structure]
    contacts = ammonium_contacts(symbols, structure.cart_coords, structure.lattice.matrix, ['I'])
    heads = sum(symbol == 'N' for symbol in symbols)
    assert contacts['n_heads'] == heads >= 2
    assert 3.2 < contacts['mean_shortest'] < 4.2  # an N-H...I hydrogen bond, not a unit slip
    # pushing every NH3 head 0.5 A further from its nearest halide shows up
    lifted = structure.copy()
    for index in [i for i, symbol in enumerate(symbols) if symbol == 'N']:
        site = lifted[index]
        iodide = min((n for n in lifted.get_neighbors(site, 5.0) if n.specie.symbol == 'I'), key=lambda n: n.nn_distance)
        away = 0.5 * (site.coords - iodide.coords) / np.linalg.norm(site.coords - iodide.coords)
        head = [index] + [n.index for n in lifted.get_neighbors(site, 1.2) if n.specie.symbol == 'H']
        lifted.translate_sites(head, away, frac_coords=False, to_unit_cell=False)
    moved = ammonium_contacts(symbols, lifted.cart_coords, lifted.lattice.matrix, ['I'])
    assert moved['mean_shortest'] > contacts['mean_shortest'] + 0.2
    assert ammonium_contacts(symbols, structure.cart_coords, structure.lattice.matrix, ['Br']) is None


def test_measurement_temperature_of_a_cif():
    assert measurement_temperature('data_x\n_diffrn_ambient_temperature 293(2)\n') == (293.0, '_diffrn_ambient_temperature')
    text = 'data_x\n_cell_measurement_temperature   100\n_diffrn_ambient_temperature ?\n'
    assert measurement_temperature(text) == (100.0, '_cell_measurement_temperature')
    assert measurement_temperature('data_x\n_cell_length_a 8.4\n') is None


def scaled_summary(structure, factor, replication):
    """Box means of ``structure`` scaled by ``factor`` in every direction and replicated, in LAMMPS' frame."""
    lattice = structure.lattice
    matrix = reference_from_parameters(*(factor * length for length in lattice.abc), *lattice.angles)
    box = matrix * np.array(replication)[:, None]
    return {'lx_mean': box[0, 0], 'xy_mean': box[1, 0], 'ly_mean': box[1, 1], 'xz_mean': box[2, 0],
            'yz_mean': box[2, 1], 'lz_mean': box[2, 2]}


def plain_cell(structure):
    return Cell([site.specie.symbol for site in structure], structure.cart_coords, structure.lattice.matrix)


def test_the_cif_is_its_own_reference_unless_a_cell_is_given(butylammonium_rp):
    """(BA)2PbI4 simulated 2 % larger in every direction: per-axis rows against its own cell, per-metal rows
    only against a given (experimental) cell; the ideal octahedra are all intact."""
    decomposition = decompose(butylammonium_rp, name='ba.cif')
    record, structure = decomposition.as_dict(), decomposition.structure
    cell = plain_cell(structure)
    summary = scaled_summary(structure, 1.02, (3, 3, 2))

    own = compare_with_reference(record, cell, cell, summary, (3, 3, 2))
    assert own['reference_source'] == "the CIF's own cell (ba.cif)"
    assert own['stacking_axis'] == 'c'
    by_quantity = {row['quantity']: row for row in own['rows']}
    assert set(by_quantity) >= {'a', 'b', 'c', 'alpha', 'beta', 'gamma'}
    for axis in 'abc':
        assert by_quantity[axis]['deviation'] == pytest.approx(2.0)
    assert by_quantity['c']['direction'] == 'stacking' and by_quantity['a']['direction'] == 'in-plane'
    assert by_quantity['gamma']['deviation'] == pytest.approx(0.0, abs=1e-9)
    assert own['deviations']['volume'] == pytest.approx(100 * (1.02**3 - 1))  # 6.12 %
    assert own['deviations']['in_plane'] == pytest.approx(100 * (1.02**2 - 1))
    assert own['deviations']['stacking'] == pytest.approx(2.0)
    assert own['octahedra']['share'] == 1.0 and own['octahedra']['reference_share'] == 1.0
    assert own['octahedra']['metals'] == 1

    # The same run against an experimental sqrt(2) x sqrt(2), two-layer cell 5 % smaller in-plane per metal.
    edge = math.sqrt(2) * structure.lattice.a / math.sqrt(1.05)
    spacing = own['reference']['layer_spacing']
    given = {'a': edge, 'b': edge, 'c': 2 * spacing, 'alpha': 90, 'beta': 90, 'gamma': 90, 'metals': 4, 'slabs': 2,
             'source': 'experiment'}
    experimental = compare_with_reference(record, cell, cell, summary, (3, 3, 2), given)
    assert experimental['reference_source'] == 'experiment'
    assert [row['quantity'] for row in experimental['rows']] == [
        'in-plane edge sqrt(2 x area per B)', 'in-plane area per B', 'layer spacing', 'volume per B']
    assert experimental['deviations']['in_plane'] == pytest.approx(100 * (1.02**2 * 1.05 - 1))
    assert experimental['deviations']['stacking'] == pytest.approx(2.0)


def test_broken_octahedra_are_counted_in_the_final_cell(butylammonium_rp):
    decomposition = decompose(butylammonium_rp, name='ba.cif')
    record, structure = decomposition.as_dict(), decomposition.structure
    final = structure.copy()
    final.remove_sites([i for i, site in enumerate(final) if site.specie.symbol == 'I'][:1])  # one halide lost
    figures = compare_with_reference(record, plain_cell(structure), plain_cell(final),
                                     scaled_summary(structure, 1.0, (1, 1, 1)), (1, 1, 1))
    assert figures['octahedra']['intact'] == 0 and figures['octahedra']['reference_share'] == 1.0
    assert figures['deviations']['volume'] == pytest.approx(0.0, abs=1e-9)
