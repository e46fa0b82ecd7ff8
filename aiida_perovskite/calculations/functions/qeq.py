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
