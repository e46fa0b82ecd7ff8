"""Calcfunction that trains a HIP-NN potential with learned charges on a labelled configuration set."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from aiida_perovskite.common.exit_codes import exit_code
from aiida_perovskite.data.configurations import ConfigurationSetData, QEqPotentialData


@calcfunction
def train_qeq_potential(configurations: ConfigurationSetData, parameters: orm.Dict):
    """A :class:`QEqPotentialData` trained on ``configurations`` (which must be labelled).

    :param parameters: ``hyperparameters`` (over ``aiida_perovskite.mlip.qeq.HYPERPARAMETERS``; ``charges: false``
        gives the short-range-only comparator) and ``training`` (over ``aiida_perovskite.mlip.qeq.TRAINING``).
    :returns: the potential, with its training-set errors and loss history in its attributes.
    """
    import torch

    from aiida_perovskite.mlip import qeq

    given = parameters.get_dict()
    unknown = sorted(set(given) - {'hyperparameters', 'training'})
    if unknown:
        return exit_code('ERROR_INVALID_PARAMETERS', message=f'unknown parameter(s) {unknown}: use hyperparameters, '
                                                              'training')
    if not configurations.labelled:
        return exit_code('ERROR_INVALID_PARAMETERS', message=f'{configurations} is not labelled: label it first')
    torch.set_num_threads(1)
    data = configurations.configurations()
    try:
        model, history = qeq.train(data, given.get('hyperparameters'), given.get('training'))
    except ValueError as error:
        return exit_code('ERROR_INVALID_PARAMETERS', message=str(error))
    return QEqPotentialData.from_model(model, metrics=qeq.errors(model, data), history=history,
                                       n_configurations=len(data), labels=configurations.base.attributes.get('labels'))


@calcfunction
def score_qeq_potential(potential: QEqPotentialData, configurations: ConfigurationSetData):
    """Mean absolute errors of ``potential`` on labelled ``configurations`` (:func:`aiida_perovskite.mlip.qeq.errors`)."""
    from aiida_perovskite.mlip import qeq

    if not configurations.labelled:
        return exit_code('ERROR_INVALID_PARAMETERS', message=f'{configurations} is not labelled: label it first')
    return orm.Dict(qeq.errors(potential.model(), configurations.configurations()))


@calcfunction
def explore_with_committee(cells: ConfigurationSetData, parameters: orm.Dict, seed: orm.Int, **committee):
    """MD frames explored with the committee's first member, scored by the committee, the selected ones returned.

    :param cells: the crystals the MD starts from (strained, with the defects of
        :func:`aiida_perovskite.mlip.active.starting_configurations`).
    :param parameters: settings over :data:`aiida_perovskite.mlip.active.DEFAULTS`.
    :param committee: the ``QEqPotentialData`` members, by label (``member_0`` first: it runs the MD).
    :returns: ``frames`` (unlabelled, each with its trajectory, round and force deviation; absent when no frame
        fell in the trust window) and ``selection`` (counts below, inside and above the window).
    """
    import torch

    from aiida_perovskite.mlip import active

    torch.set_num_threads(1)
    try:
        settings = active.validate(parameters.get_dict())
    except ValueError as error:
        return exit_code('ERROR_INVALID_PARAMETERS', message=str(error))
    models = [committee[label].model() for label in sorted(committee)]
    starts = active.starting_configurations(cells.configurations(), settings['max_strain'], seed=seed.value)
    frames = active.explore(models[0], starts, settings, seed=seed.value)
    scores = active.disagreement(models, frames)
    chosen, counts = active.select(frames, scores, int(settings['count']), float(settings['lower_ev_a']),
                                   float(settings['upper_ev_a']), int(settings['per_trajectory']))
    result = {'selection': orm.Dict({**counts, 'n_frames': len(frames), 'n_selected': len(chosen)})}
    if chosen:
        for index in chosen:
            frames[index].info['origin'] = {**frames[index].info['origin'], 'active_seed': seed.value,
                                            'force_deviation_ev_a': scores[index]['force']}
        result['frames'] = ConfigurationSetData.from_atoms([frames[index] for index in chosen])
    return result


@calcfunction
def merge_configuration_sets(**sets):
    """One labelled set of every configuration of ``sets`` (in the order of their labels); all must be labelled
    the same way (method, accuracy, electronic temperature, replication)."""
    ordered = [sets[label] for label in sorted(sets)]
    records = [node.base.attributes.get('labels') for node in ordered]
    if any(not node.labelled for node in ordered) or any(record != records[0] for record in records[1:]):
        return exit_code('ERROR_INVALID_PARAMETERS', message='the sets are not all labelled the same way: '
                                                              f'{[record and record.get("method") for record in records]}')
    return ConfigurationSetData.from_atoms([atoms for node in ordered for atoms in node.configurations()],
                                           labels=records[0])
