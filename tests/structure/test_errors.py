"""A corpus of bad inputs made from good cells: each gets its own error class and a message naming the file."""

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from aiida_perovskite.builder import alkylammonium, methylammonium
from aiida_perovskite.structure import (
    AtomsTooCloseError,
    BondingError,
    ChargeImbalanceError,
    DisorderError,
    MissingHydrogenError,
    NotLayeredError,
    StructureError,
    UnreadableCifError,
    UnsupportedElementError,
    format_cif,
    inspect_cif,
)
from aiida_perovskite.structure.cif import measurement_temperature, structure_block


def hydrogens_on(structure, index):
    return [
        neighbour.index for neighbour in structure.get_neighbors(structure[index], 1.2)
        if neighbour.specie.symbol == 'H'
    ]


def first(structure, symbol):
    return next(i for i, site in enumerate(structure) if site.specie.symbol == symbol)


def cubic_mapbi3():
    """A 3D perovskite: corner-sharing PbI6 in all three directions, MA in the cage."""
    a = 6.34
    species, coords = ['Pb', 'I', 'I', 'I'], [[0, 0, 0], [a / 2, 0, 0], [0, a / 2, 0], [0, 0, a / 2]]
    ma_symbols, ma_coords = methylammonium()
    ma_coords = ma_coords - ma_coords[:2].mean(axis=0) + [a / 2, a / 2, a / 2]
    return Structure(Lattice.cubic(a), species + ma_symbols, np.vstack([coords, ma_coords]),
                     coords_are_cartesian=True)


def truncated_mid_row(structure, write_cif):
    text = write_cif(structure, 'full.cif').read_text()
    return write_cif(text[: int(len(text) * 0.8)], 'bad.cif')


def cut_at_line(structure, write_cif):
    lines = write_cif(structure, 'full.cif').read_text().splitlines(keepends=True)
    return write_cif(''.join(lines[:-4]), 'bad.cif')


def partial_occupancy(structure, write_cif):
    disordered = structure.copy()
    disordered.replace(first(disordered, 'C'), {'C': 0.5, 'N': 0.5})
    return write_cif(disordered, 'bad.cif')


def disorder_groups(structure, write_cif):
    text = write_cif(structure, 'full.cif').read_text()
    text = text.replace(' _atom_site_occupancy\n', ' _atom_site_occupancy\n _atom_site_disorder_group\n')
    lines = [line + ('  1' if line.strip().endswith(' 1') and line.startswith('  ') else '') for line in
             text.splitlines()]
    return write_cif('\n'.join(lines) + '\n', 'bad.cif')


def stripped_ammonium(structure, write_cif):
    stripped = structure.copy()
    stripped.remove_sites(hydrogens_on(stripped, first(stripped, 'N')))
    return write_cif(stripped, 'bad.cif')


def no_hydrogen_positions(structure, write_cif):
    text = write_cif(structure, 'full.cif').read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith('H ')]
    return write_cif('\n'.join(lines) + '\n', 'bad.cif')  # the formula sum still lists H


def unknown_element(structure, write_cif):
    changed = structure.copy()
    changed.replace(first(changed, 'Pb'), 'U')
    return write_cif(changed, 'bad.cif')


def atoms_too_close(structure, write_cif):
    crowded = structure.copy()
    carbon = crowded[first(crowded, 'C')].coords
    crowded.append('H', carbon + [0.3, 0, 0], coords_are_cartesian=True)
    return write_cif(crowded, 'bad.cif')


def impossible_charge(structure, write_cif):
    changed = structure.copy()
    changed.replace(first(changed, 'N'), 'C')  # an ammonium head becomes a methyl group: spacer +1, cell -1
    return write_cif(changed, 'bad.cif')


def pentavalent_carbon(structure, write_cif):
    changed = structure.copy()
    carbon = first(changed, 'C')
    # A fifth neighbour for a CH2 carbon, 1.5 A away on the side opposite one of its hydrogens.
    centre = changed[carbon].coords
    hydrogens = hydrogens_on(changed, carbon)
    direction = centre - changed[hydrogens[0]].coords
    changed.append('C', centre + 1.5 * direction / np.linalg.norm(direction), coords_are_cartesian=True)
    return write_cif(changed, 'bad.cif')


BAD_INPUTS = [
    (truncated_mid_row, UnreadableCifError, 'truncated'),
    (cut_at_line, UnreadableCifError, '_chemical_formula_sum'),
    (partial_occupancy, DisorderError, 'partially occupied'),
    (disorder_groups, DisorderError, 'disorder groups'),
    (stripped_ammonium, MissingHydrogenError, 'hydrogen atoms are probably missing'),
    (no_hydrogen_positions, MissingHydrogenError, 'no hydrogen positions'),
    (unknown_element, UnsupportedElementError, 'unsupported element(s) U'),
    (atoms_too_close, AtomsTooCloseError, '0.30 A'),
    (impossible_charge, ChargeImbalanceError, 'net charge of -1 e'),
    (pentavalent_carbon, BondingError, 'has 5 bonded neighbours'),
]


@pytest.mark.parametrize(('make', 'error_class', 'phrase'), BAD_INPUTS, ids=[case[0].__name__ for case in BAD_INPUTS])
def test_bad_input_has_its_own_error(make, error_class, phrase, butanediammonium_dj, write_cif):
    path = make(butanediammonium_dj, write_cif)
    with pytest.raises(error_class) as excinfo:
        inspect_cif(path)
    assert type(excinfo.value) is error_class  # not merely a subclass of the base class
    assert str(excinfo.value).startswith(f'{path}: ')
    assert phrase in str(excinfo.value)


@pytest.mark.parametrize(
    ('text', 'phrase'),
    [('', 'empty'), ('hello world\n', 'not a CIF'), ('data_x\n_cell_length_a 5\n', 'no crystal structure')],
)
def test_unreadable_text(text, phrase, write_cif):
    path = write_cif(text, 'bad.cif')
    with pytest.raises(UnreadableCifError, match=phrase):
        inspect_cif(path)


def test_missing_file_is_unreadable(tmp_path):
    with pytest.raises(UnreadableCifError, match='cannot read the file'):
        inspect_cif(tmp_path / 'nowhere.cif')


def test_3d_perovskite_is_not_layered(write_cif):
    with pytest.raises(NotLayeredError, match='three dimensions'):
        inspect_cif(write_cif(cubic_mapbi3(), 'mapbi3.cif'))


def test_no_metal_is_not_layered(write_cif):
    spacer_symbols, spacer_coords = alkylammonium(2)
    salt = Structure(Lattice.cubic(9.0), spacer_symbols + ['I'], np.vstack([spacer_coords + 2, [[6.5, 6.5, 6.5]]]),
                     coords_are_cartesian=True)
    with pytest.raises(NotLayeredError, match='no metal atoms'):
        inspect_cif(write_cif(salt, 'salt.cif'))


def test_isolated_octahedra_are_not_layered(write_cif):
    """(MA)4PbI6-like: an octahedron per cell, far from its images (0D)."""
    a, bond = 12.0, 3.17
    species = ['Pb'] + ['I'] * 6
    coords = [[0, 0, 0], [bond, 0, 0], [-bond, 0, 0], [0, bond, 0], [0, -bond, 0], [0, 0, bond], [0, 0, -bond]]
    ma_symbols, ma_coords = methylammonium()
    cells = [[a / 2, a / 2, a / 2], [a / 2, 0, a / 2], [0, a / 2, a / 2], [a / 2, a / 2, 0]]
    for shift in cells:
        species += ma_symbols
        coords += (ma_coords + shift).tolist()
    structure = Structure(Lattice.cubic(a), species, coords, coords_are_cartesian=True)
    with pytest.raises(NotLayeredError, match='0D'):
        inspect_cif(write_cif(structure, 'zero_d.cif'))


def test_every_error_is_a_structure_error():
    classes = {error_class for _, error_class, _ in BAD_INPUTS} | {NotLayeredError}
    for error_class in classes:
        assert issubclass(error_class, StructureError) and error_class.code != StructureError.code
    assert len({error_class.code for error_class in classes}) == len(classes) == 8


def test_publication_block_before_the_structure(butanediammonium_dj, write_cif):
    """Journal and CCDC deposits open with a ``data_global`` block of publication details: the structure,
    its temperature and its checks come from the first block with atom sites."""
    structure_text = format_cif(butanediammonium_dj).replace('data_', 'data_BDA_150K', 1)
    text = ("data_global\n_publ_contact_author_name 'A. Author'\n_diffrn_ambient_temperature 300\n\n"
            + structure_text + '_diffrn_ambient_temperature 150(2)\n'
            + "\ndata_second\n_cell_length_a 5\n")
    path = write_cif(text, 'deposit.cif')
    result = inspect_cif(path)
    assert result.structure.composition == butanediammonium_dj.composition
    assert structure_block(text).startswith('data_BDA_150K')
    assert measurement_temperature(text) == (150.0, '_diffrn_ambient_temperature')
    # a file whose blocks hold no atom sites is still refused, on the whole text
    with pytest.raises(UnreadableCifError, match='no crystal structure'):
        inspect_cif(write_cif("data_global\n_publ_contact_author_name 'A. Author'\n", 'nothing.cif'))
