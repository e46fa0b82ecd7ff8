"""Structure features: named families, the cell seen from the layers, fragment counts."""

import pytest

from aiida_perovskite.analysis import FEATURE_FAMILIES, structure_features
from aiida_perovskite.builder import alkylammonium, layered_perovskite
from aiida_perovskite.structure import decompose


def features_of(structure):
    return structure_features(decompose(structure, name='built.cif').as_dict())


def test_every_feature_belongs_to_a_named_family():
    features = features_of(layered_perovskite(alkylammonium(4), phase='RP'))
    families = {name.split(':', 1)[0] for name in features}
    assert families == set(FEATURE_FAMILIES)
    assert all(isinstance(value, float) for value in features.values())


def test_lattice_is_expressed_along_and_across_the_layers_whatever_the_axis_order():
    structure = layered_perovskite(alkylammonium(4), phase='RP')
    reference = features_of(structure)
    # The same crystal with its lattice vectors relabelled (c -> a, a -> b, b -> c).
    relabelled = structure.copy()
    relabelled.make_supercell([[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    permuted = features_of(relabelled)
    for name in ('lattice:in_plane_long', 'lattice:in_plane_short', 'lattice:stacking_length', 'lattice:in_plane_angle',
                 'lattice:stacking_tilt', 'layers:interlayer_distance', 'cell:density'):
        assert permuted[name] == pytest.approx(reference[name], abs=1e-6), name
    assert reference['lattice:stacking_length'] > 2 * reference['lattice:in_plane_long']


def test_size_spacer_and_fragment_features_count_what_the_cell_holds():
    features = features_of(layered_perovskite(alkylammonium(4), phase='RP'))
    # (BA)2PbI4: one Pb, four I and two butylammonium (C4H12N+, 17 atoms) per formula unit.
    assert features['spacer:charge'] == 1.0
    assert features['spacer:n_atoms'] == 17.0
    assert features['spacer:n_heavy_atoms'] == 5.0
    assert features['spacer:per_metal'] == 2.0
    assert features['jdd0:C'] == 4.0 and features['jdd0:N'] == 1.0 and features['jdd0:H'] == 12.0
    assert features['jdd1:C-N'] == 1.0 and features['jdd1:C-C'] == 3.0
    assert features['cell:volume_per_atom'] == pytest.approx(features['cell:volume'] / features['cell:n_atoms'])
    # A diammonium Dion-Jacobson cell: charge +2, one spacer per metal.
    dj = features_of(layered_perovskite(alkylammonium(4, diammonium=True), phase='DJ'))
    assert dj['spacer:charge'] == 2.0 and dj['spacer:per_metal'] == 1.0
