"""Active learning of the QEq potential: the committee's disagreement, the trust window, and a real round
(tiny models, MD with the first member, frames labelled by real tblite calls)."""

import numpy as np
import pytest

from aiida_perovskite.mlip import active, qeq, sampling, xtb

SETTINGS = {'method': 'GFN1-xTB', 'accuracy': 1.0, 'electronic_temperature_k': 300.0}
HYPER = {'n_features': 12, 'n_sensitivities': 10}
TRAINING = {'epochs': 40, 'charge_epochs': 15, 'seed': 5}


@pytest.fixture(scope='module')
def cell():
    return sampling.primitive(sampling.ruddlesden_popper(1))


@pytest.fixture(scope='module')
def labelled(cell):
    """Six gently rattled (100 K), slightly strained configurations of the 7-atom Cs2PbI4 cell, labelled by tblite."""
    result, failures, _ = xtb.label_all(sampling.sample(cell, 100.0, 6, seed=21, max_strain=0.01), SETTINGS)
    assert not failures
    return result


def _frames(trajectories):
    frames = []
    for trajectory, count in enumerate(trajectories):
        for _ in range(count):
            atoms = sampling.ruddlesden_popper(1)
            atoms.info['origin'] = {'trajectory': trajectory}
            frames.append(atoms)
    return frames


def test_selection_keeps_the_window_and_spreads_over_trajectories():
    frames = _frames([3, 2])  # trajectory 0: frames 0-2, trajectory 1: frames 3-4
    scores = [{'force': value, 'energy': 0.0} for value in (0.9, 0.8, 0.7, 2.5, 0.01)]
    chosen, counts = active.select(frames, scores, count=3, lower=0.05, upper=1.0, per_trajectory=2)
    # 2.5 eV/A left physics and 0.01 is already known; at most two of trajectory 0's three.
    assert chosen == [0, 1]
    assert counts == {'below': 1, 'inside': 3, 'above': 1, 'max_force_deviation_ev_a': 2.5,
                      'median_force_deviation_ev_a': 0.8}
    chosen, _ = active.select(frames, scores, count=1, lower=0.0, upper=3.0, per_trajectory=1)
    assert chosen == [3]
    with pytest.raises(ValueError, match='trust window'):
        active.validate({'lower_ev_a': 1.0, 'upper_ev_a': 0.5})
    with pytest.raises(ValueError, match='unknown active-learning settings'):
        active.validate({'rounds': 3})


def test_convergence_needs_an_improvement_beyond_the_tolerance():
    def history(forces, energies=None):
        energies = energies or [0.01] * len(forces)
        return [{'errors': {'forces_mae_ev_a': f, 'energy_mae_ev_atom': e}} for f, e in zip(forces, energies)]

    assert not active.converged(history([0.20]))
    assert not active.converged(history([0.20, 0.15]))  # 25 % better: go on
    assert active.converged(history([0.20, 0.199]))  # 0.5 % better: stop
    assert active.converged(history([0.20, 0.25]))  # worse: stop
    assert not active.converged(history([0.20, 0.199], [0.008, 0.005]))  # the energy still improves: go on
    assert not active.converged(history([0.20, 0.15, 0.16]), patience=2)  # one bad round is not yet enough
    assert active.converged(history([0.20, 0.15, 0.16, 0.155]), patience=2)
    assert active.converged(history([0.20, 0.15], [0.01, 0.005]), keys=('forces_mae_ev_a',), tolerance=0.3)


def test_a_round_adds_the_frames_the_committee_disagrees_on(labelled, cell):
    models = active.train_committee(labelled, HYPER, TRAINING, members=2)
    # Members differ (own seeds) yet agree more on what they were trained on than far outside it: a 1,500 K
    # rattle with 3 % strain.
    known = active.disagreement(models, labelled)
    far = active.disagreement(models, sampling.sample(cell, 1500.0, 6, seed=4, max_strain=0.03))
    assert all(score['force'] > 0 and score['energy'] >= 0 for score in known)
    assert np.median([s['force'] for s in far]) > 2 * np.median([s['force'] for s in known])

    held_out = {'rattled': labelled[:2]}
    labels_used = []

    def label(configurations):
        labels_used.append(len(configurations))
        return xtb.label_all(configurations, SETTINGS)[0]

    settings = {'members': 2, 'temperatures_k': [250.0], 'steps': 20, 'interval': 5, 'count': 2, 'max_rounds': 1,
                'lower_ev_a': 0.0, 'upper_ev_a': 5.0, 'per_trajectory': 1}
    final, grown, history = active.loop(labelled, held_out, [cell], label, HYPER, TRAINING, settings, seed=2)
    assert len(final) == 2 and len(history) == 2 and labels_used == [2]
    first = history[0]
    # Three starting points (pristine, I and Cs vacancy) x 4 frames each; the two picked come from two trajectories
    # and carry where they came from, with the deviation that chose them inside the window.
    assert first['n_frames'] == 12 and first['n_selected'] == 2 and first['n_labelled'] == 2
    added = grown[len(labelled):]
    assert len(added) == 2 and len({a.info['origin']['trajectory'] for a in added}) == 2
    for atoms in added:
        origin = atoms.info['origin']
        assert origin['active_round'] == 0 and origin['md_temperature_k'] == 250.0
        assert 0.0 < origin['force_deviation_ev_a'] <= 5.0
        assert origin['force_deviation_ev_a'] >= first['selection']['median_force_deviation_ev_a']
        assert np.isfinite(atoms.info['energy']) and atoms.arrays['forces'].shape == (len(atoms), 3)
    # The second round trained on the grown set and was scored on the held-out set.
    assert history[1]['n_training'] == len(labelled) + 2
    assert set(history[1]['held_out']) == {'rattled'} and history[1]['errors']['forces_mae_ev_a'] > 0
    assert 'selection' not in history[1]  # the last round only trains and scores
    assert sum(bool(entry.get('best')) for entry in history) == 1
    # The best round is the lowest sum of errors relative to the first round's.
    assert active.best_round([{'errors': {'energy_mae_ev_atom': 8.0, 'forces_mae_ev_a': 0.107}},
                              {'errors': {'energy_mae_ev_atom': 4.6, 'forces_mae_ev_a': 0.107}},
                              {'errors': {'energy_mae_ev_atom': 30.3, 'forces_mae_ev_a': 0.105}}]) == 1
    # The grown set trains a model again (the frames are valid training data).
    model, _ = qeq.train(grown, HYPER, {**TRAINING, 'epochs': 2, 'charge_epochs': 2})
    assert np.isfinite(qeq.errors(model, added)['energy_mae_ev_atom'])
