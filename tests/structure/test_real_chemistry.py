"""What real crystals hold, on cells the tests build: chirality, charge-separated groups, neutral guests.

Each cell comes from the project's builder (:func:`build_perovskite` for the spacers, :func:`add_guests`
for lattice water and other neutral molecules); the expected answer is known by construction.
"""

import pytest

from aiida_perovskite.analysis import structure_features
from aiida_perovskite.builder import add_guests, alkylammonium, build_perovskite, layered_perovskite
from aiida_perovskite.structure import MissingHydrogenError, canonicalise, decompose
from aiida_perovskite.structure.bonding import assign_bond_orders

R_MBA = 'C[C@@H](c1ccccc1)[NH3+]'
S_MBA = 'C[C@H](c1ccccc1)[NH3+]'
NITRO_BZA = '[O-][N+](=O)c1ccc(C[NH3+])cc1'


@pytest.fixture(scope='module')
def mba_cells():
    """(R)-, (S)- and racemic (MBA)2PbI4: the builder mirrors a spacer whose SMILES fixes no handedness,
    so the herringbone cell of plain MBA holds both enantiomers, two of each."""
    return {name: build_perovskite(smiles).structure
            for name, smiles in (('R', R_MBA), ('S', S_MBA), ('rac', 'CC(c1ccccc1)[NH3+]'))}


def spacers(decomposition):
    return [(s.smiles, s.charge, s.count) for s in decomposition.spacers]


def test_enantiomers_get_their_own_stereo_smiles(mba_cells):
    r, s = decompose(mba_cells['R']), decompose(mba_cells['S'])
    assert spacers(r) == [(canonicalise(R_MBA, stereo=True), 1, 4)]
    assert spacers(s) == [(canonicalise(S_MBA, stereo=True), 1, 4)]
    assert '[C@@H]' in r.spacers[0].smiles and '[C@H]' in s.spacers[0].smiles
    # One chemistry without stereo.
    assert r.spacers[0].constitution == s.spacers[0].constitution == 'CC(c1ccccc1)[NH3+]'


def test_racemic_cell_reports_both_enantiomers_with_their_counts(mba_cells):
    racemic = decompose(mba_cells['rac'])
    assert sorted(spacers(racemic)) == sorted([(canonicalise(R_MBA, stereo=True), 1, 2),
                                               (canonicalise(S_MBA, stereo=True), 1, 2)])
    record = racemic.as_dict()
    assert {s['constitution'] for s in record['spacers']} == {'CC(c1ccccc1)[NH3+]'}


def test_features_treat_enantiomers_as_one_chemistry(mba_cells):
    """An enantiopure and a racemic cell of one spacer differ in handedness only: their spacer and
    fragment features are the same (one unique spacer, the same fragment counts)."""
    pure = structure_features(decompose(mba_cells['R']).as_dict())
    racemic = structure_features(decompose(mba_cells['rac']).as_dict())
    chemistry = [name for name in pure if name.split(':')[0].startswith(('spacer', 'jdd'))]
    assert set(chemistry) == {name for name in racemic if name.split(':')[0].startswith(('spacer', 'jdd'))}
    for name in chemistry:
        assert racemic[name] == pytest.approx(pure[name]), name
    assert racemic['spacer:n_unique'] == 1
    assert structure_features(decompose(mba_cells['rac']).as_dict(), enantiomers='distinct')['spacer:n_unique'] == 2


@pytest.fixture(scope='module')
def nitro_cell():
    return build_perovskite(NITRO_BZA).structure


def test_nitro_spacer_is_a_charge_separated_cation(nitro_cell):
    """4-nitrobenzylammonium: N(+)(=O)O(-) perceived, the cation +1, the cell neutral with Pb(2+)."""
    decomposition = decompose(nitro_cell)
    assert spacers(decomposition) == [('[NH3+]Cc1ccc(cc1)[N+](=O)[O-]', 1, 4)]
    template = decomposition.spacers[0].template
    charged = sorted((symbol, charge) for symbol, charge in zip(template.symbols, template.bonding.charges) if charge)
    assert charged == [('N', 1), ('N', 1), ('O', -1)]  # the ammonium, the nitro N and one nitro O
    assert decomposition.oxidation_states == {'Pb': 2}


def test_hydrated_nitro_cell_reports_water_as_a_guest(nitro_cell):
    """The (4-nitrobenzylammonium)2PbI4 hydrate: four lattice waters in the gallery are guests, the
    spacers unchanged."""
    decomposition = decompose(add_guests(nitro_cell, 'O', 4))
    assert spacers(decomposition) == [('[NH3+]Cc1ccc(cc1)[N+](=O)[O-]', 1, 4)]
    assert [(g.smiles, g.charge, g.count, g.formula) for g in decomposition.guests] == [('O', 0, 4, 'H2O')]
    record = decomposition.as_dict()
    assert [(g['smiles'], g['count']) for g in record['guests']] == [('O', 4)]
    assert len(record['guests'][0]['copies']) == 4


@pytest.mark.parametrize(('guest', 'smiles', 'charges'), [
    ('[NH3+]CC(=O)[O-]', '[O-]C(=O)C[NH3+]', [('N', 1), ('O', -1)]),  # glycine zwitterion
    ('[NH3+]CCS(=O)(=O)[O-]', '[NH3+]CCS(=O)(=O)[O-]', [('N', 1), ('O', -1)]),  # taurine (a sulfonate)
    ('[O-][n+]1ccccc1', '[O-][n+]1ccccc1', [('N', 1), ('O', -1)]),  # pyridine N-oxide
    ('CS(C)=O', 'CS(=O)C', []),  # DMSO, a solvent
])
def test_neutral_molecules_in_the_gallery_are_guests(guest, smiles, charges):
    decomposition = decompose(add_guests(layered_perovskite(alkylammonium(4)), guest, 1))
    assert spacers(decomposition) == [('CCCC[NH3+]', 1, 2)]
    assert [(g.smiles, g.charge, g.count) for g in decomposition.guests] == [(smiles, 0, 1)]
    template = decomposition.guests[0].template
    assert sorted((s, c) for s, c in zip(template.symbols, template.bonding.charges) if c) == charges


def test_an_alcohol_that_lost_its_hydrogen_is_still_refused():
    """O(-) is accepted only in a charge-separated group: a lone C-O is a missing hydrogen, not an alkoxide."""
    symbols = ['C', 'O', 'H', 'H', 'H']
    with pytest.raises(MissingHydrogenError, match='O1 with 1 neighbour'):
        assign_bond_orders(symbols, [(0, 1), (0, 2), (0, 3), (0, 4)])
