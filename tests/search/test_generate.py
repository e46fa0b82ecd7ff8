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


def _bridges(structure):
    """Pb-I bond lengths, and the Pb-I-Pb angles (degrees) of the equatorial halides shared by two metals."""
    bonds, angles = [], []
    for site in structure:
        if site.specie.symbol != 'I':
            continue
        metals = [n for n in structure.get_neighbors(site, 3.5) if n.specie.symbol == 'Pb']
        bonds += [n.nn_distance for n in metals]
        if len(metals) == 2:
            first, second = (n.coords - site.coords for n in metals)
            angles.append(float(np.degrees(np.arccos(first @ second / np.linalg.norm(first) / np.linalg.norm(second)))))
    return np.array(bonds), np.array(angles)


def test_tilted_octahedra(tmp_path):
    """octahedral_tilt/octahedral_rotation turn the octahedra in a checkerboard: bonds kept, bridges bent by at
    least twice the drawn rotation, the in-plane area per metal shrunk accordingly; 1 f.u. stays flat."""
    candidates = generate_candidates('CCCCN', phase='RP', candidates=3, seed=5, formula_units=[1, 2, 4],
                                     octahedral_tilt=[8.0, 12.0], octahedral_rotation=[6.0, 10.0])
    flat_area = (2 * 3.17) ** 2
    turned = 0
    for candidate in candidates:
        record, structure = candidate.record, candidate.structure
        octahedra = record['octahedra']
        bonds, angles = _bridges(structure)
        metals = structure.composition['Pb']
        assert len(bonds) == 6 * metals and np.all(np.abs(bonds - 3.17) < 0.01)  # six Pb-I per Pb, rigid
        area = float(np.linalg.norm(np.cross(*structure.lattice.matrix[:2]))) / metals
        if record['formula_units'] == 1:
            assert octahedra == {'tilt': 0.0, 'tilt_axis': 0.0, 'rotation': 0.0, 'flat': 'supercell cannot alternate'}
            assert np.allclose(angles, 180.0, atol=0.01) and area == pytest.approx(flat_area)
            continue
        turned += 1
        assert all(int(sum(row)) % 2 == 0 for row in record['supercell'])  # the checkerboard fits the cell
        assert 8.0 <= octahedra['tilt'] <= 12.0 and 6.0 <= octahedra['rotation'] <= 10.0
        rotation, tilt = np.radians(octahedra['rotation']), np.radians(octahedra['tilt'])
        assert len(angles) == 2 * metals
        assert np.all(angles <= 180.0 - 2 * octahedra['rotation'] + 0.5)
        assert angles.min() <= 180.0 - 2 * np.degrees(np.hypot(rotation, tilt / np.sqrt(2))) + 1.0
        assert flat_area * np.cos(rotation) ** 2 * np.cos(tilt) ** 2 - 0.3 < area < flat_area * np.cos(rotation) ** 2 + 0.01
        path = tmp_path / f'{record["index"]}.cif'
        CifWriter(structure).write_file(path)
        assert inspect_cif(path).oxidation_states == {'Pb': 2}  # still a valid layered perovskite
    assert turned >= 1
    again = generate_candidates('CCCCN', phase='RP', candidates=3, seed=5, formula_units=[1, 2, 4],
                                octahedral_tilt=[8.0, 12.0], octahedral_rotation=[6.0, 10.0])
    assert [c.record for c in again] == [c.record for c in candidates]
    # flat (the default): no octahedra record, straight bridges, and the draws of the seed as before
    flat = generate_candidates('CCCCN', phase='RP', candidates=1, seed=5, formula_units=[2])
    assert 'octahedra' not in flat[0].record
    assert np.allclose(_bridges(flat[0].structure)[1], 180.0, atol=0.01)
    with pytest.raises(SearchError, match='octahedral_tilt must be a range within 0 to 30'):
        generate_candidates('CCCCN', octahedral_tilt=[12.0, 5.0])
    with pytest.raises(SearchError, match='octahedral_rotation must be a range'):
        generate_candidates('CCCCN', octahedral_rotation=7.0)


def _turn_between(first, second):
    """The angle (degrees) of the rotation taking one rigid copy of a molecule onto another (Kabsch), and its residual."""
    a, b = first - first.mean(axis=0), second - second.mean(axis=0)
    u, _, vt = np.linalg.svd(a.T @ b)
    rotation = (u @ vt).T
    if np.linalg.det(rotation) < 0:  # a mirror image: no proper rotation relates them
        return None, np.inf
    cosine = np.clip((np.trace(rotation) - 1) / 2, -1.0, 1.0)
    return float(np.degrees(np.arccos(cosine))), float(np.abs(a @ rotation.T - b).max())


def test_herringbone_spins_every_second_pocket():
    """herringbone: the spacers over one colour of the checkerboard are the others spun by the drawn angle about
    their own long axis; without it every spacer of a side is parallel; a supercell that cannot alternate says so."""
    smiles = 'NCCc1ccccc1'
    candidates = generate_candidates(smiles, phase='RP', candidates=3, seed=2, formula_units=[4],
                                     herringbone=[40.0, 100.0])
    compared = {True: 0, False: 0}
    for candidate in candidates:
        record = candidate.record
        spin, spun = record['herringbone']['spin'], record['herringbone']['spun']
        assert 40.0 <= spin <= 100.0 and sum(spun) == 2  # two of the four pockets of a 2 x 2 checkerboard
        coordinates = candidate.structure.cart_coords
        top = [coordinates[indices] for indices in record['molecules'][:4]]
        for m in range(1, 4):
            if record['mirrors'][m] != record['mirrors'][0]:
                assert _turn_between(top[0], top[m])[0] is None  # mirror images: no rotation relates them
                continue
            angle, residual = _turn_between(top[0], top[m])
            assert residual < 1e-6  # a rigid copy of the same conformer
            differ = spun[m] != spun[0]
            assert angle == pytest.approx(spin if differ else 0.0, abs=0.01)  # the record rounds to 0.01
            compared[differ] += 1
    assert compared[True] and compared[False]  # both relations were seen
    parallel = generate_candidates(smiles, phase='RP', candidates=2, seed=2, formula_units=[4])
    for candidate in parallel:
        assert 'herringbone' not in candidate.record
        top = [candidate.structure.cart_coords[i] for i in candidate.record['molecules'][:4]]
        for m in range(1, 4):
            if candidate.record['mirrors'][m] == candidate.record['mirrors'][0]:
                assert _turn_between(top[0], top[m])[0] < 1e-3
    single = generate_candidates(smiles, phase='RP', candidates=1, seed=2, formula_units=[1], herringbone=[40.0, 100.0])
    assert single[0].record['herringbone'] == {'spin': 0.0, 'parallel': 'supercell cannot alternate', 'spun': [False]}
    with pytest.raises(SearchError, match='herringbone must be a range within 0 to 180'):
        generate_candidates(smiles, herringbone=[100.0, 40.0])


def test_conformers_take_turns():
    """Candidate i has conformer i modulo their number, so the overlap test cannot starve the bulkier one (it did:
    7 of 40 (PEA)2PbI4 candidates were gauche when the conformer was redrawn with every rejected draw)."""
    from aiida_perovskite.search.compare import spacer_arrangement

    candidates = generate_candidates('NCCc1ccccc1', phase='RP', candidates=4, seed=2, formula_units=[2])
    assert [c.record['conformer'] for c in candidates] == [0, 1, 0, 1]
    gauche = [spacer_arrangement(c.structure)['gauche'] for c in candidates]
    assert gauche == [4, 0, 4, 0]  # the builder's choice for an aromatic neighbour is gauche; the second is anti
