"""Comparison of a predicted cell with a reference: per-metal figures, match, XRD similarity, landscape plot."""

import numpy as np
import pytest

from aiida_perovskite.builder import build_perovskite
from aiida_perovskite.search.compare import compare_structures, plot_landscape, xrd_similarity


@pytest.fixture(scope='module')
def built():
    return build_perovskite('CCCCN', phase='RP').structure


def test_same_cell_matches_with_zero_deviation(built):
    shifted = built.copy()
    shifted.translate_sites(list(range(len(shifted))), [0.2, 0.1, 0.05])
    result = compare_structures(shifted, built)
    assert result['match'] and result['rms'] < 1e-3
    assert result['xrd_similarity'] > 0.999
    assert all(abs(row['deviation']) < 1e-6 for row in result['rows'])
    volume = next(row for row in result['rows'] if row['quantity'] == 'volume per B')
    assert np.isclose(volume['reference'], built.volume / 2)  # two Pb in the herringbone cell


def test_strained_cell_is_measured(built):
    """5 % longer stacking: layer spacing +5 %, area 0 %, volume +5 %, XRD similarity lower."""
    strained = built.copy()
    strained.apply_strain([0.0, 0.0, 0.05])
    result = compare_structures(strained, built)
    by = {row['quantity']: row['deviation'] for row in result['rows']}
    assert abs(by['in-plane area per B']) < 0.01
    assert by['volume per B'] == pytest.approx(5.0, abs=0.01) and by['layer spacing'] == pytest.approx(5.0, abs=0.01)
    assert xrd_similarity(strained, built) < 0.9


def test_landscape_plot(tmp_path):
    path = tmp_path / 'landscape.png'
    plot_landscape({'classical': {'c000': -1.0, 'c001': -1.2}, 'mlip': {'c001': -100.0}}, path, 'test')
    assert path.stat().st_size > 5000
    # with the MLIP energies at the classical minima that chose the relaxed ones: a third series in the legend
    three = tmp_path / 'three.png'
    plot_landscape({'classical': {'c000': -1.0, 'c001': -1.2}, 'preselection': {'c000': -99.0, 'c001': -98.5},
                    'mlip': {'c000': -100.0}}, three, 'test')
    assert three.stat().st_size > path.stat().st_size


def test_spacer_arrangement_reads_torsions_and_ring_planes():
    """Head torsions come back as the generator built them (gauche or anti); one spacer per sheet has no sheet
    angle; across the gap the rings are parallel when the lower sheet is the upper one through an inversion
    centre, and at the angle a two-fold axis along x gives when it is that."""
    from aiida_perovskite.builder.spacer import GAUCHE
    from aiida_perovskite.search import generate_candidates
    from aiida_perovskite.search.compare import spacer_arrangement

    seen = set()
    for torsion in (GAUCHE, 180.0):
        for candidate in generate_candidates('NCCc1ccccc1', phase='RP', candidates=4, seed=7, formula_units=[1],
                                             conformers=[torsion]):
            arrangement = spacer_arrangement(candidate.structure)
            assert arrangement['heads'] == 2
            assert np.allclose(np.abs(arrangement['head_torsions']), torsion, atol=15.0)
            assert arrangement['gauche'] == (2 if torsion < 120 else 0)
            assert arrangement['ring_angle_sheet'] is None  # one spacer per sheet
            record = candidate.record
            top = candidate.structure.cart_coords[record['molecules'][0]]
            ring = top[[i for i, site in enumerate(record['molecules'][0])
                        if candidate.structure[site].specie.symbol == 'C'][2:]]  # the six ring carbons
            normal = np.linalg.svd(ring - ring.mean(axis=0))[2][2]
            image = normal * ([1.0, 1.0, 1.0] if record['bottom'] == 'inversion' else [1.0, -1.0, -1.0])
            expected = np.degrees(np.arccos(min(1.0, abs(normal @ image))))
            assert arrangement['ring_angle_gap'] == pytest.approx(expected, abs=0.5)
            seen.add(record['bottom'])
    assert seen == {'inversion', 'c2'}


def test_bridge_angles_flat_and_rotated():
    """A flat layer's bridges are straight; octahedra rotated by 10 degrees in a checkerboard bend every in-plane
    bridge to 160 degrees; two bridges per metal in a single-layer RP cell (the apical halides bridge nothing)."""
    from aiida_perovskite.search import generate_candidates
    from aiida_perovskite.search.compare import bridge_angles

    flat, = generate_candidates('CCCCN', phase='RP', candidates=1, seed=4, formula_units=[2])
    bridges = bridge_angles(flat.structure)
    assert bridges['count'] == 4 and bridges['min'] == pytest.approx(180.0, abs=0.1)
    turned, = generate_candidates('CCCCN', phase='RP', candidates=1, seed=4, formula_units=[2],
                                  octahedral_rotation=[10.0, 10.0])
    bridges = bridge_angles(turned.structure)
    assert bridges['count'] == 4
    assert bridges['min'] == pytest.approx(160.0, abs=0.2) and bridges['max'] == pytest.approx(160.0, abs=0.2)
