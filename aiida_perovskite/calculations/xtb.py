"""``XtbLabelCalculation``: reference labels from tblite (GFN1/GFN2-xTB) for a configuration set, or the set
relaxed with the reference, on any computer."""

from __future__ import annotations

from aiida import orm
from aiida.engine import CalcJob

from aiida_perovskite.calculations.base import configuration_set_job, settings_validator
from aiida_perovskite.common.exit_codes import declare
from aiida_perovskite.data.configurations import ConfigurationSetData
from aiida_perovskite.mlip.xtb import (
    LABELLED,
    RELAX_DEFAULTS,
    RELAXED,
    validate_relax,
    validate_settings,
)


class XtbLabelCalculation(CalcJob):
    """``python -m aiida_perovskite.mlip.xtb`` on a configuration set: energies, forces, stress, Mulliken charges.

    The code is a Python interpreter with aiida-perovskite (and tblite) installed, the same as
    ``MlipCalculation``'s. ``parameters`` are the labelling settings (``aiida_perovskite.mlip.xtb.DEFAULTS``:
    method, accuracy, electronic temperature, SCF iterations, replication). The labelled set keeps every
    configuration's origin and records how it was labelled.

    With ``relax`` (``{'fmax': eV/A, 'max_steps': N}``) it relaxes each configuration with the reference instead,
    positions and cell (:func:`aiida_perovskite.mlip.xtb.relaxed`), and returns the cells as ``relaxed``
    (unlabelled; each origin records the relaxation): the cells to sample configurations around.
    """

    STDOUT = 'xtb.out'
    STDERR = 'xtb.err'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('configurations', valid_type=ConfigurationSetData, help='The configurations to label.')
        spec.input('parameters', valid_type=orm.Dict, required=False, validator=settings_validator(validate_settings),
                   help='Labelling settings over aiida_perovskite.mlip.xtb.DEFAULTS.')
        spec.input('relax', valid_type=orm.Dict, required=False, validator=settings_validator(validate_relax),
                   help=f'Relax instead of labelling: {{"fmax": eV/A, "max_steps": FIRE steps}}, over {RELAX_DEFAULTS}.')
        spec.inputs['metadata']['options']['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        spec.inputs['metadata']['options']['withmpi'].default = False
        spec.inputs['metadata']['options']['parser_name'].default = 'perovskite.xtb'
        spec.output('configurations', valid_type=ConfigurationSetData, required=False,
                    help='The labelled configurations (those whose SCF converged).')
        spec.output('relaxed', valid_type=ConfigurationSetData, required=False,
                    help='With relax: the relaxed configurations (unlabelled), each origin with its relaxation.')
        spec.output('output_parameters', valid_type=orm.Dict,
                    help='The labelling record, counts, failures and seconds per configuration.')
        spec.default_output_node = 'output_parameters'
        declare(spec, 'ERROR_OUTPUT_MISSING', 'ERROR_OUTPUT_UNREADABLE', 'ERROR_XTB_LABELLING',
                'ERROR_XTB_NOTHING_LABELLED', 'ERROR_XTB_SCF_FAILED', 'ERROR_XTB_RELAX_NOT_CONVERGED')

    def prepare_for_submission(self, folder):
        settings = validate_settings(self.inputs.parameters.get_dict() if 'parameters' in self.inputs else {})
        arguments, retrieve = [], LABELLED
        if 'relax' in self.inputs:
            relax = validate_relax(self.inputs.relax.get_dict())
            arguments = ['--relax', '--fmax', str(relax['fmax']), '--max-steps', str(relax['max_steps'])]
            retrieve = RELAXED
        return configuration_set_job(self, folder, 'aiida_perovskite.mlip.xtb', settings, arguments, [retrieve])
