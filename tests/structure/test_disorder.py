"""``--disorder major``: a CIF whose spacer is refined over two positions becomes its major component, or is
refused, with the sites named, where it has none."""

import numpy as np
import pytest

from aiida_perovskite.structure import DisorderError, UnreadableCifError, inspect_cif, read_cif_text
from aiida_perovskite.structure.decompose import reading_notes
from aiida_perovskite.structure.disorder import resolve_disorder, summary

SHIFT = np.array([0.0, 0.0, 0.6])  # Angstrom: the minor position of each disordered carbon


def disordered_cif(structure, occupancies=(0.7, 0.3), groups=('1', '2'), assembly='A', elements=('C',),
                   extra_rows=()) -> str:
    """The P1 CIF of ``structure`` with every atom of ``elements`` refined over two positions: the atom's own
    (first occupancy, first group) and one moved by :data:`SHIFT` (second occupancy and group)."""
    lattice = structure.lattice
    rows = []
    for index, site in enumerate(structure):
        x, y, z = site.frac_coords
        label = f'{site.specie.symbol}{index}'
        if site.specie.symbol in elements:
            xs, ys, zs = lattice.get_fractional_coords(site.coords + SHIFT)
            rows.append(f'{label}A {site.specie.symbol} {x:.6f} {y:.6f} {z:.6f} {occupancies[0]} {assembly} {groups[0]}')
            rows.append(f'{label}B {site.specie.symbol} {xs:.6f} {ys:.6f} {zs:.6f} {occupancies[1]} {assembly} {groups[1]}')
        else:
            rows.append(f'{label} {site.specie.symbol} {x:.6f} {y:.6f} {z:.6f} 1 . .')
    a, b, c = lattice.abc
    alpha, beta, gamma = lattice.angles
    return '\n'.join([
        'data_disordered', "_symmetry_space_group_name_H-M 'P 1'",
        f'_cell_length_a {a:.6f}', f'_cell_length_b {b:.6f}', f'_cell_length_c {c:.6f}',
        f'_cell_angle_alpha {alpha:.6f}', f'_cell_angle_beta {beta:.6f}', f'_cell_angle_gamma {gamma:.6f}',
        'loop_', ' _symmetry_equiv_pos_as_xyz', "  'x, y, z'",
        'loop_', ' _atom_site_label', ' _atom_site_type_symbol', ' _atom_site_fract_x', ' _atom_site_fract_y',
        ' _atom_site_fract_z', ' _atom_site_occupancy', ' _atom_site_disorder_assembly', ' _atom_site_disorder_group',
        *rows, *extra_rows, '',
    ])


def carbons(structure, shift=(0.0, 0.0, 0.0)):
    """Fractional coordinates (wrapped into the cell, sorted) of the carbons, each moved by ``shift`` (Angstrom)
    first; fractional, since a CIF read back has its lattice in pymatgen's standard orientation."""
    fractional = [structure.lattice.get_fractional_coords(site.coords + np.asarray(shift)) % 1.0
                  for site in structure if site.specie.symbol == 'C']
    return np.array(sorted(tuple(np.round(coords, 4) % 1.0) for coords in fractional))


def test_a_disordered_cif_is_refused_by_default(butylammonium_rp):
    with pytest.raises(DisorderError, match=r'--disorder major keeps the major'):
        read_cif_text(disordered_cif(butylammonium_rp), 'ba.cif')


def test_the_major_component_is_kept_and_recorded(butylammonium_rp, write_cif):
    text = disordered_cif(butylammonium_rp)
    structure = read_cif_text(text, 'ba.cif', disorder='major')
    assert len(structure) == len(butylammonium_rp)
    assert structure.composition == butylammonium_rp.composition
    np.testing.assert_allclose(carbons(structure), carbons(butylammonium_rp), atol=1e-3)
    record = structure.properties['disorder']
    n_carbons = sum(site.specie.symbol == 'C' for site in butylammonium_rp)
    assert record['assemblies'] == {'A': {'groups': {'1': 0.7, '2': 0.3}, 'kept': '1', 'tie': False}}
    assert len(record['dropped']) == n_carbons and all(label.endswith('B') for label in record['dropped'])
    assert set(record['filled'].values()) == {0.7}
    assert summary(record).startswith('disorder resolved to its major component: kept group 1 of assembly A')

    # the whole chain: the kept component decomposes into the same spacers, and the note says what was kept
    decomposition = inspect_cif(write_cif(text, 'ba.cif'), disorder='major')
    assert [(s.smiles, s.count) for s in decomposition.spacers] == [('CCCC[NH3+]', 2)]
    assert decomposition.notes[0] == summary(record)


def test_the_group_with_the_higher_occupancy_wins_whatever_its_label(butylammonium_rp):
    structure = read_cif_text(disordered_cif(butylammonium_rp, occupancies=(0.3, 0.7)), 'ba.cif', disorder='major')
    assert structure.properties['disorder']['assemblies']['A']['kept'] == '2'
    np.testing.assert_allclose(carbons(structure), carbons(butylammonium_rp, SHIFT), atol=1e-3)


def test_equal_occupancies_keep_the_lowest_group_and_say_so(butylammonium_rp):
    structure = read_cif_text(disordered_cif(butylammonium_rp, occupancies=(0.5, 0.5), groups=('2', '10')), 'ba.cif',
                              disorder='major')
    record = structure.properties['disorder']
    assert record['assemblies']['A']['kept'] == '2' and record['assemblies']['A']['tie']
    assert 'equal occupancies' in summary(record)


def test_partial_sites_without_groups_keep_those_above_one_half(butylammonium_rp):
    text = disordered_cif(butylammonium_rp, occupancies=(0.8, 0.2), groups=('.', '.'), assembly='.')
    structure = read_cif_text(text, 'ba.cif', disorder='major')
    np.testing.assert_allclose(carbons(structure), carbons(butylammonium_rp), atol=1e-3)
    assert structure.properties['disorder']['assemblies'] == {}


@pytest.mark.parametrize(('changes', 'phrase'), [
    ({'groups': ('-1', '-2')}, r'group\(s\) -1, -2 \(C\d+A.*overlap their own symmetry images'),
    ({'occupancies': (0.5, 0.5), 'groups': ('.', '.'), 'assembly': '.'}, r'half-occupied site\(s\) C\d+A'),
])
def test_disorder_without_a_major_component_is_refused(butylammonium_rp, changes, phrase):
    with pytest.raises(DisorderError, match=phrase) as excinfo:
        resolve_disorder(disordered_cif(butylammonium_rp, **changes), 'ba.cif')
    assert str(excinfo.value).startswith('ba.cif: ')


def test_a_mixed_halide_site_is_not_a_conformation(butylammonium_rp):
    """Br on 40 % of an iodide's site: dropping it would change the composition, so it is refused."""
    index = next(i for i, site in enumerate(butylammonium_rp) if site.specie.symbol == 'I')
    x, y, z = butylammonium_rp[index].frac_coords
    text = disordered_cif(butylammonium_rp, elements=(), extra_rows=[f'Br99 Br {x:.6f} {y:.6f} {z:.6f} 0.4 . .'])
    text = text.replace(f'I{index} I {x:.6f} {y:.6f} {z:.6f} 1 . .', f'I{index} I {x:.6f} {y:.6f} {z:.6f} 0.6 . .')
    with pytest.raises(DisorderError, match=rf'sites I{index} \(I\) and Br99 \(Br\) share one position .*mixed site'):
        resolve_disorder(text, 'mixed.cif')


def test_an_ordered_cif_is_returned_unchanged(butylammonium_rp):
    text = disordered_cif(butylammonium_rp, elements=())
    assert resolve_disorder(text) == (text, None)
    assert 'disorder' not in read_cif_text(text, 'ba.cif', disorder='major').properties


def refined_occupancy(text: str, element: str, occupancy: float) -> str:
    """``text`` with every ordered ``element`` site's occupancy set to ``occupancy`` (a refined, not a fixed, value)."""
    return '\n'.join(line.replace(' 1 . .', f' {occupancy} . .') if line.split()[1:2] == [element] else line
                     for line in text.splitlines())


def test_a_site_refined_to_nearly_full_occupancy_is_read_as_full(butylammonium_rp, write_cif):
    """Single-crystal refinements that let lead's occupancy float give 0.995-0.996 (e.g. a (PEA)2PbI4 cell at
    296 K): that is a full site, under either policy, and the note names the sites."""
    text = refined_occupancy(disordered_cif(butylammonium_rp, elements=()), 'Pb', 0.995)
    structure = read_cif_text(text, 'pea.cif')
    assert structure.is_ordered and structure.composition == butylammonium_rp.composition
    labels = {f'Pb{i}' for i, site in enumerate(butylammonium_rp) if site.specie.symbol == 'Pb'}
    assert structure.properties['occupancy'] == {label: 0.995 for label in labels}
    decomposition = inspect_cif(write_cif(text, 'pea.cif'))
    assert decomposition.reading == {'occupancy': {label: 0.995 for label in labels}}
    assert decomposition.notes[0].startswith(f'{len(labels)} site(s) refined to nearly full occupancy read as fully '
                                             'occupied: Pb')
    assert 'occupancy' in decomposition.as_dict()
    assert read_cif_text(text, 'pea.cif', disorder='major').is_ordered


def test_a_site_refined_below_the_near_full_bound_is_still_disorder(butylammonium_rp):
    """3 % of lead missing is a vacancy the cell cannot hold, not a refinement wobble: refused as before."""
    text = refined_occupancy(disordered_cif(butylammonium_rp, elements=()), 'Pb', 0.97)
    with pytest.raises(DisorderError, match=r'partially occupied site\(s\): Pb\d+ \(Pb:0.97\)'):
        read_cif_text(text, 'pea.cif')


def test_a_declared_formula_short_of_hydrogens_is_noted_not_refused(butylammonium_rp):
    """Olex2 wrote 'C16 H0.25 I4 N2 Pb' for a (PEA)2PbI4 cell with all 24 H of each formula unit placed: the
    header is wrong, nothing is missing. Too few heavy atoms is still a truncated file."""
    text = disordered_cif(butylammonium_rp, elements=()).replace(
        "_symmetry_space_group_name_H-M 'P 1'", "_symmetry_space_group_name_H-M 'P 1'\n_chemical_formula_sum 'C8 H0.25 I4 N2 Pb'")
    structure = read_cif_text(text, 'ba.cif')
    assert structure.properties['declared_formula'] == {'declared': 'C8 H0.25 I4 N2 Pb', 'read': 'C8H24I4N2Pb'}
    assert reading_notes(structure.properties) == [
        "the CIF's _chemical_formula_sum 'C8 H0.25 I4 N2 Pb' lists fewer hydrogens than its atom sites "
        '(C8H24I4N2Pb per formula unit): the sites are used']
    with pytest.raises(UnreadableCifError, match=r'do not match the declared _chemical_formula_sum'):
        read_cif_text(text.replace("'C8 H0.25 I4 N2 Pb'", "'C8 H0.25 I5 N2 Pb'"), 'ba.cif')
