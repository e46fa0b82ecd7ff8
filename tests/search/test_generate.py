"""The random candidate generator and the deduplication/ranking core (plain Python, real OpenBabel conformers)."""

import numpy as np
import pytest
from pymatgen.io.cif import CifWriter

from aiida_perovskite.builder import BuildError, protonate
from aiida_perovskite.search import SearchError, deduplicate, generate_candidates, rank
from aiida_perovskite.structure import canonicalise, inspect_cif
from aiida_perovskite.structure.elements import COVALENT_RADII


@pytest.fixture(scope='module')
def butyl():
    return generate_candidates('CCCCN', phase='RP', candidates=6, seed=3)


def _closest_foreign_contact(candidate):
    """Smallest (distance / covalent-radii sum) between atoms of different molecules or a molecule and the layer."""
    structure, record = candidate.structure, candidate.record
    owner = np.full(len(structure), -1)
    for m, indices in enumerate(record['molecules']):
        owner[indices] = m
    centres, points, images, distances = structure.get_neighbor_list(4.5)
    radii = np.array([COVALENT_RADII[site.specie.symbol] for site in structure])
    keep = ((owner[centres] >= 0) | (owner[points] >= 0)) & ~(
        np.all(images == 0, axis=1) & (owner[centres] == owner[points]))
    return (float(np.min(distances[keep] / (radii[centres][keep] + radii[points][keep]))),
            float(np.min(distances[keep])))


@pytest.mark.parametrize('smiles, phase, heads', [('CCCCN', 'RP', 1), ('NCCc1ccccc1', 'RP', 1), ('NCCCCN', 'DJ', 2)])
def test_composition_charge_and_contacts(smiles, phase, heads, tmp_path):
    """Each candidate decomposes into the protonated spacer, charge-balanced, with 2 (RP) or 1 (DJ) per metal."""
    candidates = generate_candidates(smiles, phase=phase, candidates=4, seed=11, formula_units=[1, 2])
    expected = canonicalise(protonate(smiles)[0])
    for candidate in candidates:
        k = candidate.record['formula_units']
        assert k in (1, 2)
        composition = candidate.structure.composition
        assert composition['Pb'] == k and composition['I'] == 4 * k
        assert len(candidate.record['molecules']) == k * (3 - heads)
        # +2 per Pb, +1 per head, -1 per I
        assert 2 * k + heads * len(candidate.record['molecules']) - 4 * k == 0
        path = tmp_path / f'{candidate.record["index"]}.cif'
        CifWriter(candidate.structure).write_file(path)
        decomposition = inspect_cif(path)  # a StructureError if the cell does not validate
        assert [(s.smiles, s.charge, s.count) for s in decomposition.spacers] == [(expected, heads, k * (3 - heads))]
        assert decomposition.oxidation_states == {'Pb': 2}
        ratio, closest = _closest_foreign_contact(candidate)
        assert ratio >= 1.5 - 1e-6 and closest >= 1.7 - 1e-6
        assert 8.0 < candidate.record['stacking_period'] < 30.0


def test_reproducible_by_seed(butyl):
    again = generate_candidates('CCCCN', phase='RP', candidates=6, seed=3)
    other = generate_candidates('CCCCN', phase='RP', candidates=6, seed=4)
    for first, second in zip(butyl, again):
        assert first.record == second.record
        assert np.allclose(first.structure.cart_coords, second.structure.cart_coords)
    assert [c.record['tilt'] for c in butyl] != [c.record['tilt'] for c in other]


def test_samples_the_choices(butyl):
    """Tilts within the 45 degree cone, several cell sizes, both bottom operations, mirrors of an achiral spacer."""
    more = butyl + generate_candidates('CCCCN', phase='RP', candidates=10, seed=5)
    assert all(0.0 <= c.record['tilt'] <= 45.0 for c in more)
    assert len({c.record['formula_units'] for c in more}) >= 3
    assert {c.record['bottom'] for c in more} == {'inversion', 'c2'}
    assert any(any(c.record['mirrors']) for c in more)


def test_no_mirror_for_a_chiral_spacer():
    """(R)-1-phenylethylammonium keeps its handedness: no mirrored molecule, no inversion of a sheet."""
    candidates = generate_candidates('C[C@@H](N)c1ccccc1', phase='RP', candidates=6, seed=2, formula_units=[1, 2])
    assert not any(any(c.record['mirrors']) for c in candidates)
    assert {c.record['bottom'] for c in candidates} == {'c2'}


def test_refusals():
    with pytest.raises(SearchError, match='formula_units'):
        generate_candidates('CCCCN', formula_units=[5])
    with pytest.raises(SearchError, match='unknown search setting'):
        generate_candidates('CCCCN', colour='blue')
    with pytest.raises(BuildError, match='phase DJ needs 2'):
        generate_candidates('CCCCN', phase='DJ')
    with pytest.raises(SearchError, match='without overlaps'):
        generate_candidates('CCCCN', candidates=1, overlap_factor=4.0, max_attempts=3)


def test_dedup_merges_translated_and_permuted_copies(butyl):
    """A candidate, its translated copy with the sites shuffled and its 2x1 supercell are one structure;
    the other candidates stay distinct, and the lowest energy represents the group."""
    base = butyl[0].structure
    copy = base.copy()
    copy.translate_sites(list(range(len(copy))), [0.31, 0.17, 0.43])
    order = np.random.default_rng(0).permutation(len(copy))
    shuffled = copy.__class__.from_sites([copy[int(i)] for i in order])
    supercell = base.copy()
    supercell.make_supercell([2, 1, 1])
    structures = [base, butyl[1].structure, shuffled, butyl[2].structure, supercell]
    groups = deduplicate(structures)
    merged = next(group for group in groups if 0 in group)
    assert sorted(merged) == [0, 2, 4]
    assert len(groups) == 3
    ranked = rank(structures, [-1.0, -3.0, -2.0, -0.5, float('nan')])
    assert [r.index for r in ranked] == [1, 2, 3]  # the copy (-2) beats its original (-1); nan left out
    assert ranked[1].duplicates == [0]
