"""Active learning for the QEq potential: a committee of models, MD with it, and the frames it disagrees on.

One round (:func:`round_`):

1. :func:`train_committee` trains ``members`` models on the same labelled configurations, each from its own
   seed (initial weights and the order of the data), so that where the data say little they disagree.
2. :func:`explore` runs short Langevin MD (:func:`aiida_perovskite.mlip.sampling.short_md`) with the first
   member from each starting configuration (pristine or defective, strained, at 100-300 K), keeping frames.
3. :func:`disagreement` scores each frame: the largest over atoms of the committee's force standard deviation
   (``|sigma_F|``, eV/A, the measure of DP-GEN and of Schran et al., J. Chem. Phys. 153, 104105 (2020)), and
   the standard deviation of the energy per atom.
4. :func:`select` keeps the ``count`` frames with the largest force deviation inside a trust window
   ``[lower, upper]``: below ``lower`` the committee already agrees (nothing to learn), above ``upper`` the
   frame has left physics (an MD run the model broke; the reference would only learn a torn crystal). Frames
   from one trajectory are taken at most ``per_trajectory`` at a time, so one bad run does not fill a round.

The caller labels the selected frames with the reference (:func:`aiida_perovskite.mlip.xtb.label_all`) and adds
them to the training set; :func:`converged` says when the held-out energy and force errors both stopped
improving. :func:`loop` runs
rounds until then, with any labelling function, and returns the history. Plain Python and PyTorch; the
AiiDA work chain and ``benchmarks/qeq_active.py`` call these functions.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from . import qeq, sampling

LOGGER = logging.getLogger(__name__)
#: Settings of a round, with their values when not given.
DEFAULTS = {
    'members': 3,  # models in the committee
    'temperatures_k': (100.0, 200.0, 300.0),  # K, of the exploring MD, cycled over the starting configurations
    'steps': 300,  # MD steps per trajectory
    'interval': 10,  # steps between kept frames
    'timestep_fs': 2.0,
    'max_strain': 0.02,  # of the strained starting cells
    'count': 12,  # frames added per round
    'per_trajectory': 2,  # at most this many from one trajectory per round
    'lower_ev_a': 0.05,  # trust window of the largest force deviation (eV/A)
    'upper_ev_a': 1.0,
    'tolerance': 0.02,  # converged when neither held-out energy nor force error improves by this fraction ...
    'patience': 1,  # ... this many rounds in a row
    'max_rounds': 4,
}


def validate(settings: dict | None) -> dict:
    """The settings with defaults filled in; unknown or unphysical ones are refused."""
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise ValueError(f'unknown active-learning settings {unknown}; known: {sorted(DEFAULTS)}')
    merged = {**DEFAULTS, **settings}
    if int(merged['members']) < 2:
        raise ValueError(f'a committee needs at least 2 members, not {merged["members"]}')
    if not 0 <= float(merged['lower_ev_a']) < float(merged['upper_ev_a']):
        raise ValueError(f'the trust window needs 0 <= lower < upper, not [{merged["lower_ev_a"]}, '
                         f'{merged["upper_ev_a"]}] eV/A')
    if int(merged['interval']) < 1 or int(merged['steps']) < int(merged['interval']):
        raise ValueError(f'MD of {merged["steps"]} steps cannot keep a frame every {merged["interval"]} steps')
    return merged


def train_committee(configurations, hyperparameters: dict | None = None, training: dict | None = None,
                    members: int = 3, progress=None) -> list:
    """``members`` models trained on the same configurations, member ``k`` with seed ``training['seed'] + k``."""
    training = dict(training or {})
    seed = int(training.get('seed', 0))
    models = []
    for member in range(int(members)):
        started = time.perf_counter()
        model, _ = qeq.train(configurations, hyperparameters, {**training, 'seed': seed + member})
        models.append(model)
        LOGGER.info('committee member %d/%d trained in %.0f s', member + 1, members, time.perf_counter() - started)
        if progress is not None:
            progress('train', member + 1, int(members))
    return models


def disagreement(models, configurations) -> list[dict]:
    """Per configuration: ``force`` (eV/A), the largest over atoms of the norm of the committee's per-component
    force standard deviation, and ``energy`` (eV/atom), the standard deviation of the energy per atom."""
    predictions = [qeq.predict(model, configurations) for model in models]
    result = []
    for index, atoms in enumerate(configurations):
        forces = np.stack([prediction[index]['forces'] for prediction in predictions])  # members x atoms x 3
        energies = np.array([float(prediction[index]['energy']) for prediction in predictions]) / len(atoms)
        spread = np.sqrt(np.sum(forces.var(axis=0), axis=1))  # per atom
        result.append({'force': float(spread.max()), 'energy': float(energies.std())})
    return result


def starting_configurations(cells, max_strain: float, vacancies=((), ('I',), ('Cs',)), seed: int = 0,
                            count: int | None = None):
    """Starting points for exploring MD: the cells in turn, each strained (up to ``max_strain``) and, cycling
    through ``vacancies``, with one defect; ``count`` of them (default: each cell with each defect once)."""
    count = len(cells) * len(vacancies) if count is None else count
    rng = np.random.default_rng(seed)
    result = []
    for index in range(int(count)):
        kinds = vacancies[(index // len(cells)) % len(vacancies)]
        result += sampling.sample(cells[index % len(cells)], 0.0, 1, seed=int(rng.integers(1 << 30)),
                                  max_strain=max_strain, vacancies=kinds)
    return result


def explore(model, starts, settings: dict, seed: int = 0, progress=None) -> list:
    """Frames of Langevin MD with ``model`` from each start, at the settings' temperatures in turn. A trajectory
    the model breaks (an ASE or solver error) ends there; the frames it kept stay (they are the interesting
    ones). Each frame's ``origin`` names its trajectory (``trajectory``)."""
    settings = validate(settings)
    calculator = qeq.calculator(model)
    temperatures = settings['temperatures_k']
    frames = []
    for index, start in enumerate(starts):
        temperature = float(temperatures[index % len(temperatures)])
        try:
            kept = sampling.short_md(start, calculator, temperature, int(settings['steps']), int(settings['interval']),
                                     seed=seed + index, timestep_fs=float(settings['timestep_fs']))
        except (RuntimeError, ValueError, FloatingPointError) as error:  # a singular solve, a NaN
            LOGGER.warning('exploring trajectory %d at %.0f K broke: %s', index, temperature, error)
            kept = []
        for frame in kept:
            frame.info['origin'] = {**start.info.get('origin', {}), **frame.info['origin'], 'trajectory': index}
        frames += kept
        if progress is not None:
            progress('explore', index + 1, len(starts))
    return frames


def select(configurations, scores: list[dict], count: int, lower: float, upper: float,
           per_trajectory: int = 2) -> tuple[list[int], dict]:
    """Indices of up to ``count`` configurations with the largest force deviation inside ``[lower, upper]``, at
    most ``per_trajectory`` from one trajectory; and how many fell below, inside and above the window."""
    force = np.array([score['force'] for score in scores])
    inside = np.flatnonzero((force >= lower) & (force <= upper))
    chosen, taken = [], {}
    for index in inside[np.argsort(-force[inside], kind='stable')]:
        trajectory = configurations[index].info.get('origin', {}).get('trajectory', index)
        if taken.get(trajectory, 0) >= per_trajectory:
            continue
        taken[trajectory] = taken.get(trajectory, 0) + 1
        chosen.append(int(index))
        if len(chosen) == count:
            break
    counts = {'below': int(np.sum(force < lower)), 'inside': int(len(inside)), 'above': int(np.sum(force > upper)),
              'max_force_deviation_ev_a': float(force.max()) if len(force) else None,
              'median_force_deviation_ev_a': float(np.median(force)) if len(force) else None}
    return sorted(chosen), counts


def converged(history: list[dict], keys=('energy_mae_ev_atom', 'forces_mae_ev_a'), tolerance: float = 0.02,
              patience: int = 1) -> bool:
    """True when none of the held-out errors ``keys`` (of each round's ``errors``, the first held-out set's)
    improved on its best before by more than ``tolerance`` (a fraction) in each of the last ``patience`` rounds."""
    rounds = [entry['errors'] for entry in history if entry.get('errors')]
    if len(rounds) <= patience:
        return False
    for position in range(len(rounds) - patience, len(rounds)):
        for key in keys:
            best_before = min(errors[key] for errors in rounds[:position])
            if rounds[position][key] < best_before * (1.0 - tolerance):
                return False
    return True


def best_round(history: list[dict], keys=('energy_mae_ev_atom', 'forces_mae_ev_a')) -> int:
    """Index of the round whose held-out errors are lowest together: each error divided by its first round's,
    summed over ``keys`` (a later round can be worse: 12 frames moved the energy level by 25 meV/atom)."""
    rounds = [entry['errors'] for entry in history]
    scores = [sum(errors[key] / rounds[0][key] for key in keys if rounds[0][key]) for errors in rounds]
    return int(np.argmin(scores))


def loop(training, held_out, cells, label, hyperparameters: dict | None = None, training_settings: dict | None = None,
         settings: dict | None = None, seed: int = 0, progress=None):
    """Rounds of committee, exploration, selection and labelling until the held-out errors stop improving.

    :param training: labelled configurations to start from.
    :param held_out: named sets of labelled configurations never trained on (``{name: configurations}``); each
        round's first member is scored on every set, and the first set's energy and force errors decide convergence.
    :param cells: the crystals exploring MD starts from (strained, with the defects of :func:`starting_configurations`).
    :param label: ``label(configurations) -> labelled`` (the reference; configurations it fails on are left out).
    :returns: ``(models, training, history)``: the committee of the best round (:func:`best_round`), the grown
        training set, and per round the training size, held-out errors, the selection counts, the frames added
        and seconds per step (the best round is marked ``best``).
    """
    settings = validate(settings)
    training = list(training)
    history = []
    committees = []
    for round_index in range(int(settings['max_rounds']) + 1):
        started = time.perf_counter()
        models = train_committee(training, hyperparameters, training_settings, settings['members'], progress)
        committees.append(models)
        trained = time.perf_counter()
        scored = {name: qeq.errors(models[0], data) for name, data in held_out.items()}
        first = next(iter(held_out.values()))
        entry = {'round': round_index, 'n_training': len(training), 'errors': next(iter(scored.values())),
                 'held_out': scored, 'train_seconds': trained - started,
                 'committee_forces_mae_ev_a': [qeq.errors(model, first)['forces_mae_ev_a'] for model in models[1:]]}
        history.append(entry)
        LOGGER.info('round %d: %d training configurations, held-out MAE %.1f meV/atom, %.3f eV/A', round_index,
                    len(training), 1000 * entry['errors']['energy_mae_ev_atom'], entry['errors']['forces_mae_ev_a'])
        if round_index == int(settings['max_rounds']) or converged(history, tolerance=settings['tolerance'],
                                                                    patience=int(settings['patience'])):
            break
        starts = starting_configurations(cells, settings['max_strain'], seed=seed + 1000 * round_index)
        frames = explore(models[0], starts, settings, seed=seed + 1000 * round_index, progress=progress)
        explored = time.perf_counter()
        scores = disagreement(models, frames)
        chosen, counts = select(frames, scores, int(settings['count']), float(settings['lower_ev_a']),
                                float(settings['upper_ev_a']), int(settings['per_trajectory']))
        for index in chosen:
            frames[index].info['origin'] = {**frames[index].info['origin'], 'active_round': round_index,
                                            'force_deviation_ev_a': scores[index]['force']}
        labelled = label([frames[index] for index in chosen]) if chosen else []
        training += labelled
        entry.update({'selection': counts, 'n_frames': len(frames), 'n_selected': len(chosen),
                      'n_labelled': len(labelled), 'explore_seconds': explored - trained,
                      'label_seconds': time.perf_counter() - explored})
        if not chosen:
            LOGGER.info('round %d: no frame inside the trust window; stopping', round_index)
            break
    best = best_round(history)
    history[best]['best'] = True
    return committees[best], training, history
