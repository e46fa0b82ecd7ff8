"""The broken-physics check: octahedra lost against the input cell, a volume that runs away."""

import math

import pytest

from aiida_perovskite.analysis import PhysicsChecks, physics_check


def octahedra(share, reference=1.0):
    return {'intact': round(4 * share), 'metals': 4, 'share': share, 'cutoff': 3.8, 'reference_share': reference}


def test_a_sound_run_is_not_flagged():
    result = physics_check(octahedra(1.0), {'250 K': -0.132, '300 K': -0.12})
    assert result == {**result, 'broken': False, 'problems': [], 'volume_change': -0.132}


def test_octahedra_lost_against_the_input_cell():
    result = physics_check(octahedra(0.25), {'300 K': 0.02})
    assert result['broken'] and result['problems'] == [
        'octahedra broke: 25% intact against 100% in the input cell (bound: a loss of 50%)']
    # Half lost is still within the bound; an input cell without intact octahedra cannot lose them.
    assert not physics_check(octahedra(0.5), {})['broken']
    assert not physics_check(octahedra(0.0, reference=0.0), {})['broken']


@pytest.mark.parametrize('change, broken', [(0.249, False), (-0.249, False), (0.26, True), (-0.3, True),
                                            (math.nan, True), (math.inf, True)])
def test_volume_bound_both_ways(change, broken):
    result = physics_check(None, {'200 K': 0.01, '350 K': change})
    assert result['broken'] is broken
    if broken:
        assert result['problems'][0].startswith('volume ran away: ') and 'at 350 K (bound 25%)' in result['problems'][0]


def test_thresholds_are_settings_and_checked():
    assert physics_check(octahedra(0.75), {'300 K': 0.1}, PhysicsChecks(max_octahedra_loss=0.2,
                                                                        max_volume_change=0.05))['broken']
    with pytest.raises(ValueError, match='max_volume_change must be a positive number'):
        PhysicsChecks(max_volume_change=0)
