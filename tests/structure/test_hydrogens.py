"""``--hydrogens add``: a CIF without (some) hydrogen positions gets them back at riding positions, protonated as
the builder protonates a SMILES, and checked against the CIF's own formula."""

import re

import numpy as np
import pytest
from pymatgen.io.cif import CifWriter

from aiida_perovskite.structure import MissingHydrogenError, UnreadableCifError, inspect_cif, read_cif_text
from aiida_perovskite.structure.hydrogens import add_missing_hydrogens, summary


def stripped_cif(structure, keep=lambda structure, index: False) -> str:
    """The CIF of ``structure`` without its hydrogens (except those ``keep`` keeps), declaring the full formula
    as a deposited CIF does."""
    stripped = structure.copy()
    stripped.remove_sites([i for i, site in enumerate(structure) if site.specie.symbol == 'H' and not keep(structure, i)])
    formula = ' '.join(f'{element}{int(amount)}' for element, amount in structure.composition.items())
    return re.sub(r'_chemical_formula_sum.*', f"_chemical_formula_sum '{formula}'", str(CifWriter(stripped)))


def on_carbon(structure, index):
    return any(n.specie.symbol == 'C' for n in structure.get_neighbors(structure[index], 1.2))


def on_methylene(structure, index):
    (carbon,) = [n for n in structure.get_neighbors(structure[index], 1.2) if n.specie.symbol in ('C', 'N')]
    return carbon.specie.symbol == 'C' and sum(n.specie.symbol == 'H'
                                               for n in structure.get_neighbors(structure[carbon.index], 1.2)) == 2


def bonded_hydrogens(structure) -> list[tuple[str, int]]:
    """For each C and N, its element and the number of hydrogens 1.0-1.1 A away."""
    return [(site.specie.symbol, sum(n.specie.symbol == 'H' and 0.95 < n.nn_distance < 1.12
                                     for n in structure.get_neighbors(site, 1.2)))
            for site in structure if site.specie.symbol in ('C', 'N')]


def hydrogens(structure):
    return np.array([site.frac_coords for site in structure if site.specie.symbol == 'H'])


def nearest(added, reference, lattice):
    """For each added hydrogen, the distance (A) to the nearest hydrogen of the reference (periodic)."""
    delta = reference[None, :, :] - added[:, None, :]
    delta -= np.round(delta)
    return np.linalg.norm(delta @ lattice.matrix, axis=-1).min(axis=1)


@pytest.mark.parametrize('cell', ['butylammonium_rp', 'butanediammonium_dj'])
def test_every_hydrogen_is_put_back_near_its_place(cell, request):
    """Stripped of all its hydrogens, butane-1,4-diammonium is a closed-shell N#CC#CC#N to valences alone; the
    geometry (112 degree chain angles) makes OpenBabel read it sp3, and the amines are protonated."""
    structure = request.getfixturevalue(cell)
    text = stripped_cif(structure)
    with pytest.raises(MissingHydrogenError, match=r'--hydrogens add'):
        read_cif_text(text, 'bare.cif')
    completed = read_cif_text(text, 'bare.cif', hydrogens='add')
    assert completed.composition == structure.composition  # the CIF's declared formula is checked as well
    record = completed.properties['hydrogens']
    assert record['added'] == sum(site.specie.symbol == 'H' for site in structure)
    # each carbon and nitrogen has as many hydrogens as in the original cell, at 1.0-1.1 A
    assert sorted(bonded_hydrogens(completed)) == sorted(bonded_hydrogens(structure))
    # riding positions: a CH2 hydrogen within 0.15 A of the original one (an NH3 or CH3 group may be turned
    # about its axis: its orientation is OpenBabel's staggered one, which an MD relaxes)
    methylene = [i for i, site in enumerate(structure) if site.specie.symbol == 'H' and on_methylene(structure, i)]
    original = np.array([structure[i].frac_coords for i in methylene])
    assert nearest(original, hydrogens(completed), structure.lattice).max() < 0.15


def test_only_the_missing_ammonium_hydrogens_are_added(butylammonium_rp, write_cif):
    text = stripped_cif(butylammonium_rp, keep=on_carbon)
    path = write_cif(text, 'no_nh3.cif')
    decomposition = inspect_cif(path, hydrogens='add')
    assert [(s.smiles, s.count) for s in decomposition.spacers] == [('CCCC[NH3+]', 2)]
    assert decomposition.notes[0] == 'hydrogens added at riding positions: 6 H to 2 molecule(s) (CCCC[NH3+] x2)'
    completed = decomposition.structure
    carbon_bound = np.array([site.frac_coords for i, site in enumerate(butylammonium_rp)
                             if site.specie.symbol == 'H' and on_carbon(butylammonium_rp, i)])
    assert np.sort(nearest(carbon_bound, hydrogens(completed), completed.lattice))[-1] < 1e-6  # kept where they were


def test_a_complete_cell_is_left_alone(butylammonium_rp):
    structure, record = add_missing_hydrogens(butylammonium_rp)
    assert record is None and structure is butylammonium_rp


def test_a_protonation_that_contradicts_the_declared_formula_is_refused(butylammonium_rp):
    """The CIF says C8H22 (two neutral butylamines: no ammonium, so no charge balance either): adding the
    ammonium hydrogens gives C8H24, and the file is refused rather than simulated with another chemistry."""
    text = stripped_cif(butylammonium_rp).replace("H24", "H22")
    with pytest.raises(UnreadableCifError, match=r"do not match the declared _chemical_formula_sum"):
        read_cif_text(text, 'neutral.cif', hydrogens='add')


def canonical(smiles: str) -> str:
    """OpenBabel's canonical SMILES, as the record writes it."""
    from openbabel import openbabel as ob

    conversion = ob.OBConversion()
    conversion.SetInAndOutFormats('smi', 'can')
    molecule = ob.OBMol()
    conversion.ReadString(molecule, smiles)
    return conversion.WriteString(molecule).split()[0]


@pytest.mark.parametrize(('smiles', 'expected'), [
    ('CCCCN', 'CCCC[NH3+]'),  # a primary amine: ammonium
    ('NCc1ccccc1', '[NH3+]Cc1ccccc1'),  # benzylamine: the ring is read aromatic from its geometry
    ('CC(N)=O', 'CC(=O)N'),  # an amide N stays neutral
    ('Nc1ccccc1', 'Nc1ccccc1'),  # aniline too, as the builder leaves it (see builder.spacer.protonate)
])
def test_protonation_follows_the_builders_rule(smiles, expected):
    """One molecule (3D from the SMILES, its hydrogens removed) alone in a large box."""
    from pymatgen.core import Lattice, Structure

    from aiida_perovskite.builder.spacer import molecule_from_smiles

    symbols, coords = molecule_from_smiles(smiles)
    heavy = [i for i, symbol in enumerate(symbols) if symbol != 'H']
    box = Structure(Lattice.cubic(25.0), [symbols[i] for i in heavy], coords[heavy] + 12.5, coords_are_cartesian=True)
    completed, record = add_missing_hydrogens(box)
    (molecule,) = record['molecules']
    assert molecule['smiles'] == canonical(expected)
    assert record['added'] == sum(symbol == 'H' for symbol in symbols) + expected.count('NH3+')
    assert len(completed) == len(box) + record['added']


def test_summary_counts_each_kind_of_molecule():
    record = {'added': 12, 'molecules': [{'site': 'N1', 'formula': 'C4N', 'smiles': 'CCCC[NH3+]', 'added': 6}] * 2}
    assert summary(record) == 'hydrogens added at riding positions: 12 H to 2 molecule(s) (CCCC[NH3+] x2)'
