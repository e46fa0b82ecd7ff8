"""The builder from SMILES: round trip of every bundled spacer, geometry checks and refused inputs."""

import numpy as np
import pytest
from pymatgen.io.cif import CifWriter

from aiida_perovskite.builder import (
    BuildError,
    alkylammonium,
    build_perovskite,
    find_spacer,
    layered_perovskite,
    load_spacers,
    protonate,
)
from aiida_perovskite.structure import canonicalise, inspect_cif

SPACERS = load_spacers()


def test_bundled_list_is_complete():
    assert len(SPACERS) >= 20
    assert len({s['abbreviation'] for s in SPACERS}) == len(SPACERS)
    assert {s['phase'] for s in SPACERS} == {'RP', 'DJ'}
    assert find_spacer('pea')['smiles'] == 'NCCc1ccccc1'
    assert find_spacer('1,4-butanediammonium')['abbreviation'] == 'BDA'
    with pytest.raises(BuildError, match='no bundled spacer called'):
        find_spacer('unobtainium')


@pytest.mark.parametrize('entry', SPACERS, ids=[s['abbreviation'] for s in SPACERS])
def test_round_trip(entry, tmp_path):
    """build -> CIF -> inspect gives the protonated input's canonical SMILES and charge, and validates."""
    _check_round_trip(entry, 'herringbone', tmp_path)


@pytest.mark.parametrize('abbreviation', ['EA', 'PEA', 'iBA', 'BDA', 'PDMA'])
def test_round_trip_parallel(abbreviation, tmp_path):
    """The one-octahedron cell (every spacer alike) round-trips too."""
    _check_round_trip(find_spacer(abbreviation), 'parallel', tmp_path)


def _check_round_trip(entry, packing, tmp_path):
    result = build_perovskite(entry['smiles'], phase=entry['phase'], packing=packing)
    expected_smiles = canonicalise(protonate(entry['smiles'])[0])
    heads = 1 if entry['phase'] == 'RP' else 2
    octahedra = 2 if packing == 'herringbone' else 1

    path = tmp_path / 'built.cif'
    CifWriter(result.structure).write_file(path)
    decomposition = inspect_cif(path)  # raises a StructureError if the cell does not validate
    # A spacer with a stereocentre (3AMP) whose SMILES fixes no hand is mirrored in a herringbone cell: the
    # cell is racemic and reports both enantiomers, one constitution between them.
    assert {(s.constitution, s.charge) for s in decomposition.spacers} == {(expected_smiles, heads)}
    assert sum(s.count for s in decomposition.spacers) == octahedra * (3 - heads)
    assert len(decomposition.spacers) == (2 if '@' in decomposition.spacers[0].smiles and octahedra == 2 else 1)
    assert result.record['metals_per_layer'] == octahedra
    assert result.spacer.smiles == expected_smiles
    assert decomposition.n_layers == 1 and decomposition.stacking_axis == 'c'
    assert decomposition.oxidation_states == {'Pb': 2}
    _check_contacts(result.structure)


def _check_contacts(structure, minimum=1.8):
    """No two atoms of different molecules, or of a molecule and the layer, closer than ``minimum``;
    every ammonium N 3.4-4.6 A from its nearest halide."""
    organic = [i for i, site in enumerate(structure) if site.specie.symbol in ('C', 'H', 'N', 'O', 'S', 'F')]
    molecule = {}
    for i in organic:  # molecules by covalent connectivity
        if i in molecule:
            continue
        stack, molecule[i] = [i], i
        while stack:
            j = stack.pop()
            for neighbour in structure.get_neighbors(structure[j], 1.9):
                k = neighbour.index
                if k in molecule or k not in organic:
                    continue
                if neighbour.nn_distance < 1.25 * (_radius(structure[j]) + _radius(structure[k])):
                    molecule[k] = i
                    stack.append(k)
    for i in organic:
        for neighbour in structure.get_neighbors(structure[i], minimum):
            k = neighbour.index
            bonded = neighbour.nn_distance < 1.25 * (_radius(structure[i]) + _radius(structure[k]))
            same = molecule.get(k) == molecule[i] and (bonded or np.allclose(neighbour.image, 0))
            assert same, (
                f'{structure[i].specie}{i} and {structure[k].specie}{k} {neighbour.nn_distance:.2f} A apart'
            )
    halide = next(site.specie.symbol for site in structure if site.specie.symbol in ('I', 'Br', 'Cl'))
    for i, site in enumerate(structure):
        if site.specie.symbol == 'N' and any(n.specie.symbol == 'H' for n in structure.get_neighbors(site, 1.1)):
            nearest = min(n.nn_distance for n in structure.get_neighbors(site, 6.0) if n.specie.symbol == halide)
            assert 3.4 <= nearest <= 4.6, f'N{i} is {nearest:.2f} A from the nearest {halide}'


def _radius(site):
    from aiida_perovskite.structure.elements import COVALENT_RADII

    return COVALENT_RADII[site.specie.symbol]


@pytest.mark.parametrize(('metal', 'halide', 'phase', 'n'), [
    ('Sn', 'Cl', 'RP', 1), ('Sn', 'I', 'DJ', 1), ('Pb', 'Br', 'RP', 2), ('Pb', 'Cl', 'DJ', 3),
])
def test_other_metals_halides_and_n(metal, halide, phase, n, tmp_path):
    smiles = 'NCCCCN' if phase == 'DJ' else 'NCCc1ccccc1'
    result = build_perovskite(smiles, phase=phase, metal=metal, halide=halide, n=n)
    path = tmp_path / 'built.cif'
    CifWriter(result.structure).write_file(path)
    decomposition = inspect_cif(path)
    assert decomposition.n_layers == n
    assert decomposition.oxidation_states == {metal: 2}
    assert [s.smiles for s in decomposition.spacers] == [result.spacer.smiles]
    # two octahedra per layer in the (default) herringbone cell
    assert [(s.smiles, s.count) for s in decomposition.a_site_molecules] == ([('C[NH3+]', 2 * (n - 1))] if n > 1 else [])
    assert result.record['head_torsion'] == ('anti: gauche too wide for the pocket' if halide == 'Cl' and phase == 'RP'
                                             else 'auto')
    rotation = np.radians(result.settings['octahedral_rotation'])
    assert result.settings['octahedral_rotation'] == 12.0
    assert result.structure.lattice.a == pytest.approx(2 * np.sqrt(2) * result.record['bx_bond'] * np.cos(rotation))
    _check_octahedra(result.structure, result.record['bx_bond'], 180 - 2 * 12.0)


def _check_octahedra(structure, bond, angle):
    """Every metal has six halides at ``bond``; every in-plane bridge B-X-B is ``angle`` degrees."""
    bridges = []
    for site in structure:
        if site.specie.symbol in ('Pb', 'Sn'):
            halides = [n for n in structure.get_neighbors(site, bond + 0.3) if n.specie.symbol in ('I', 'Br', 'Cl')]
            assert len(halides) == 6 and all(n.nn_distance == pytest.approx(bond, abs=1e-3) for n in halides)
        if site.specie.symbol in ('I', 'Br', 'Cl'):
            metals = [n for n in structure.get_neighbors(site, bond + 0.3) if n.specie.symbol in ('Pb', 'Sn')]
            if len(metals) == 2 and abs(metals[0].coords[2] - metals[1].coords[2]) < 0.1:
                u, v = metals[0].coords - site.coords, metals[1].coords - site.coords
                bridges.append(np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))))
    assert bridges and np.allclose(bridges, angle, atol=0.05)


def _torsion(p0, p1, p2, p3):
    b1 = (p2 - p1) / np.linalg.norm(p2 - p1)
    v, w = (p0 - p1) - (p0 - p1) @ b1 * b1, (p3 - p2) - (p3 - p2) @ b1 * b1
    return float(np.degrees(np.arctan2(np.cross(b1, v) @ w, v @ w)))


def _head_torsions(structure, heavy_path):
    """N-C-C-X torsion of every spacer: ``heavy_path`` gives the elements N, C, C, X to follow from each N."""
    torsions = []
    for site in structure:
        if site.specie.symbol != 'N':
            continue
        path = [site]
        for element in heavy_path[1:]:
            seen = [p.coords for p in path]
            step = [n for n in structure.get_neighbors(path[-1], 1.65) if n.specie.symbol == element
                    and not any(np.allclose(n.coords, c) for c in seen)]
            path.append(step[0])
        torsions.append(_torsion(*(p.coords for p in path)))
    return torsions


def test_herringbone_cell_of_phenethylammonium():
    """Gauche heads, mirror-image partners in each sheet, 156 degree bridges, an 8.77 A sqrt(2) cell."""
    result = build_perovskite('NCCc1ccccc1')
    structure = result.structure
    assert result.settings['packing'] == 'herringbone' and result.record['partner'].startswith('mirror')
    assert structure.lattice.a == structure.lattice.b == pytest.approx(8.77, abs=0.01)
    _check_octahedra(structure, 3.17, 156.0)
    torsions = _head_torsions(structure, ['N', 'C', 'C', 'C'])
    assert len(torsions) == 4
    # gauche, two of each hand: a spacer and its mirror image in each sheet
    assert sorted(np.sign(torsions)) == [-1, -1, 1, 1]
    assert np.allclose(np.abs(torsions), 65, atol=8)
    _check_contacts(structure)


def test_head_torsion_rule_and_override():
    alkyl = build_perovskite('CCCCN')
    assert np.allclose(np.abs(_head_torsions(alkyl.structure, ['N', 'C', 'C', 'C'])), 180, atol=8)  # anti
    forced = build_perovskite('NCCc1ccccc1', head_torsion=180)
    assert np.allclose(np.abs(_head_torsions(forced.structure, ['N', 'C', 'C', 'C'])), 180, atol=8)
    with pytest.raises(BuildError, match='head_torsion must be auto or an angle'):
        build_perovskite('CCCCN', head_torsion='gauche')


def test_chiral_spacer_is_not_mirrored(tmp_path):
    """(R)-methylbenzylammonium: the partner is the same hand turned, never its enantiomer."""
    from openbabel import pybel

    result = build_perovskite('C[C@@H](N)c1ccccc1')
    assert result.record['partner'] == 'alike' or result.record['partner'].startswith('turned')
    path = tmp_path / 'mba.cif'
    CifWriter(result.structure).write_file(path)
    decomposition = inspect_cif(path)
    hands = set()
    for molecule in decomposition.molecules:
        xyz = f'{len(molecule.symbols)}\n\n' + '\n'.join(
            f'{e} {x:.4f} {y:.4f} {z:.4f}' for e, (x, y, z) in zip(molecule.symbols, molecule.cartesian))
        smiles = pybel.readstring('xyz', xyz).write('can').split()[0]
        hands.add(smiles.replace('@@', 'R').replace('@', 'S'))
    assert len(decomposition.molecules) == 4 and len(hands) == 1


def test_parallel_cell_is_flat():
    result = build_perovskite('NCCc1ccccc1', packing='parallel')
    assert result.settings['octahedral_rotation'] == 0.0 and result.record['metals_per_layer'] == 1
    assert result.structure.lattice.a == pytest.approx(6.34)
    with pytest.raises(BuildError, match='octahedral_rotation 10 degrees needs packing herringbone'):
        build_perovskite('CCCCN', packing='parallel', octahedral_rotation=10)


def test_builds_are_reproducible():
    first = build_perovskite('CC(C)CN')
    build_perovskite('CCCCN')  # OpenBabel's builder keeps state between molecules: it must not leak
    second = build_perovskite('CC(C)CN')
    assert first.spacer.smiles == second.spacer.smiles == '[NH3+]CC(C)C'
    assert np.allclose(first.structure.cart_coords, second.structure.cart_coords, atol=1e-3)


def test_record_and_settings():
    result = build_perovskite('CCCCN', phase='rp')
    assert result.settings['phase'] == 'RP' and result.settings['metal'] == 'Pb'
    record = result.record
    assert record['closest_contact_ratio'] >= result.settings['contact_factor']
    assert record['n_x_min'] == pytest.approx(3.6, abs=0.3)
    assert record['cross_section'] < record['pocket_area'] == pytest.approx(40.2, abs=0.1)
    # the stacking period of a BA bilayer comes from the chain length: 13-14 A (two layers: 26-28 A)
    assert 12.5 < record['stacking_period'] < 14.5


@pytest.mark.parametrize(('smiles', 'expected'), [
    ('CCCCN', 'CCCC[NH3+]'),
    ('CCCC[NH3+]', 'CCCC[NH3+]'),
    ('NCC1CCNCC1', '[NH3+]CC1CC[NH2+]CC1'),  # primary and secondary aliphatic amines
    ('CN(C)CCN', 'C[NH+](C)CC[NH3+]'),  # tertiary too
    ('CC(=O)NCCN', 'CC(=O)NCC[NH3+]'),  # never the amide
    ('Nc1ccccc1', 'Nc1ccccc1'),  # nor an aniline
    ('NCc1cccnc1', '[NH3+]Cc1cccnc1'),  # nor an aromatic N (write [nH+] for a pyridinium)
])
def test_protonation(smiles, expected):
    assert protonate(smiles)[0] == canonicalise(expected)


def test_ideal_cells_unchanged():
    """The ideal-geometry wrappers share the layer code with the builder and still give their cells."""
    cell = layered_perovskite(alkylammonium(4), phase='RP')
    assert len(cell) == 39 and cell.lattice.a == pytest.approx(6.34)


# --- refused inputs: each with a message that says what is wrong and the numbers behind it ---

@pytest.mark.parametrize('smiles', ['C1CC(', 'not a smiles', '', 'C1CC', 'c1cccc1N', 'CCN.CCN', 'N[Xx]'])
def test_invalid_smiles(smiles):
    with pytest.raises(BuildError, match=r'invalid SMILES|several molecules'):
        build_perovskite(smiles)


@pytest.mark.parametrize('smiles', ['c1ccccc1', 'CC(=O)N', 'Nc1ccccc1', 'C[N+](C)(C)CC', 'CCO'])
def test_no_ammonium_group(smiles):
    with pytest.raises(BuildError, match='has no ammonium group'):
        build_perovskite(smiles)


def test_wrong_number_of_heads_names_the_phase_that_fits():
    with pytest.raises(BuildError, match=r'1 ammonium head\(s\) but phase DJ needs 2; it fits phase RP'):
        build_perovskite('CCCCN', phase='DJ')
    with pytest.raises(BuildError, match=r'2 ammonium head\(s\) but phase RP needs 1; it fits phase DJ'):
        build_perovskite('NCCCCN', phase='RP')
    with pytest.raises(BuildError, match=r'3 ammonium head\(s\).*neither RP .* nor DJ'):
        build_perovskite('NCCC(CN)CCN', phase='DJ')


def test_extra_charge_is_refused():
    with pytest.raises(BuildError, match=r'net charge of \+2 but has 1 ammonium head'):
        build_perovskite('C[N+](C)(C)CCCN')


def test_too_large_for_the_pocket():
    with pytest.raises(BuildError, match=r'too large for phase RP on a Pb-I layer: its van der Waals cross-section '
                                         r'across the stacking axis is \d+\.\d A\^2, more than the 40\.2 A\^2 pocket'):
        build_perovskite('NCC(c1ccccc1)(c1ccccc1)c1ccccc1')
    # the same spacer is too large for the smaller Sn-Cl pocket by the same rule
    with pytest.raises(BuildError, match=r'more than the 30\.9 A\^2 pocket area per spacer'):
        build_perovskite('NCC(c1ccccc1)c1ccccc1', metal='Sn', halide='Cl')


def test_dj_heads_must_be_at_opposite_ends():
    with pytest.raises(BuildError, match=r'heads are not at opposite ends'):
        build_perovskite('NCCNCCCCCCCC', phase='DJ')


def test_bad_settings():
    with pytest.raises(BuildError, match='unknown setting'):
        build_perovskite('CCCCN', metl='Pb')
    with pytest.raises(BuildError, match='unknown phase'):
        build_perovskite('CCCCN', phase='3D')
    with pytest.raises(BuildError, match=r'no B-X bond length for Ge-I'):
        build_perovskite('CCCCN', metal='Ge')
    with pytest.raises(BuildError, match=r'n must be at least 1'):
        build_perovskite('CCCCN', n=0)
    with pytest.raises(BuildError, match=r'unknown packing'):
        build_perovskite('CCCCN', packing='zigzag')
    with pytest.raises(BuildError, match=r'octahedral_rotation must be 0 to 30 degrees'):
        build_perovskite('CCCCN', octahedral_rotation=45)
