"""``MlipCalculation``: the MLIP engine's driver (relaxation in stages, or NPT) on any computer; ``MlipLabelCalculation``:
a packaged MLIP's energy, forces and stress on a set of configurations."""

from __future__ import annotations

import io
import json

from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from aiida_perovskite.calculations.base import settings_validator
from aiida_perovskite.common.exit_codes import declare
from aiida_perovskite.data.configurations import ConfigurationSetData, QEqPotentialData
from aiida_perovskite.mlip.driver import RELAXED, RESULTS, SETTINGS, STRUCTURE
from aiida_perovskite.mlip.relax import validate_settings


class MlipCalculation(CalcJob):
    """``python -m aiida_perovskite.mlip.driver`` on a structure, from scratch or continuing a parent's trajectories.

    The code is a Python interpreter with aiida-perovskite installed (``aiida-perovskite setup`` registers
    this virtualenv's as ``mlip``; a GPU node's goes in a ``--config`` file, with ``device: cuda`` in the
    parameters). ``parameters`` are the driver's settings (``aiida_perovskite.mlip.relax.DEFAULTS``:
    potential, dispersion, stages, force/stress/step limits). With ``parent_folder`` the parent's
    ``*.traj`` files are copied in and the run continues from them: finished stages are skipped, the
    stage that stopped continues from its last frame. Pass the parent's own ``structure`` again: volume
    changes are measured against it. With ``qeq_potential`` (a potential trained here), its weights are
    written into the working folder and the run uses them (the ``potential`` setting becomes ``qeq:<folder>``).
    """

    #: Where a ``qeq_potential``'s files go in the working folder.
    QEQ_FOLDER = 'qeq_potential'

    STDOUT = 'mlip.out'
    STDERR = 'mlip.err'
    LOG = 'optimizer.log'
    TRAJECTORIES = '*.traj'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData, help='The cell to relax (or to run NPT on).')
        spec.input('parameters', valid_type=orm.Dict, required=False, validator=settings_validator(validate_settings),
                   help='Driver settings over aiida_perovskite.mlip.relax.DEFAULTS.')
        spec.input('qeq_potential', valid_type=QEqPotentialData, required=False,
                   help='A potential trained here (aiida_perovskite.mlip.qeq); replaces the potential setting.')
        spec.input('parent_folder', valid_type=orm.RemoteData, required=False,
                   help='Folder of an earlier run on the same structure: continue from its trajectories.')
        spec.inputs.validator = _validate_inputs
        spec.inputs['metadata']['options']['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        spec.inputs['metadata']['options']['withmpi'].default = False
        spec.inputs['metadata']['options']['parser_name'].default = 'perovskite.mlip'
        spec.output('output_parameters', valid_type=orm.Dict,
                    help='Status, energy, stress (GPa), volume change, the potential record and one summary per stage.')
        spec.output('structure', valid_type=orm.StructureData, required=False, help='The last configuration.')
        spec.output('forces', valid_type=orm.ArrayData, required=False, help='Forces on the last configuration (eV/A).')
        spec.output('stress', valid_type=orm.ArrayData, required=False,
                    help='Stress of the last configuration (GPa, 3x3, positive tensile).')
        spec.default_output_node = 'output_parameters'
        # ERROR_NO_RETRIEVED_FOLDER (100) is CalcJob's own.
        declare(spec, 'ERROR_OUTPUT_MISSING', 'ERROR_OUTPUT_UNREADABLE', 'ERROR_MLIP_DRIVER', 'ERROR_NOT_CONVERGED',
                'ERROR_NON_FINITE', 'ERROR_VOLUME_CHANGE')

    def prepare_for_submission(self, folder):
        given = self.inputs.parameters.get_dict() if 'parameters' in self.inputs else {}
        if 'qeq_potential' in self.inputs:
            given = {**given, 'potential': f'qeq:{self.QEQ_FOLDER}', 'dispersion': {}}
            folder.get_subfolder(self.QEQ_FOLDER, create=True)
            for name, content in self.inputs.qeq_potential.files().items():
                with folder.open(f'{self.QEQ_FOLDER}/{name}', 'wb') as handle:
                    handle.write(content)
        settings = validate_settings(given)
        with folder.open(SETTINGS, 'w') as handle:
            json.dump(settings, handle, indent=1)
        text = io.StringIO()
        import ase.io

        ase.io.write(text, self.inputs.structure.get_ase(), format='extxyz')
        with folder.open(STRUCTURE, 'w') as handle:
            handle.write(text.getvalue())

        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ['-m', 'aiida_perovskite.mlip.driver', SETTINGS, STRUCTURE, '--log', self.LOG]
        codeinfo.stdout_name = self.STDOUT
        codeinfo.stderr_name = self.STDERR

        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        # The trajectories stay on the computer (a parent_folder for a restart); the summary says what they hold.
        calcinfo.retrieve_list = [RESULTS, RELAXED, self.STDOUT, self.STDERR]
        if 'parent_folder' in self.inputs:
            parent = self.inputs.parent_folder
            calcinfo.remote_copy_list = [(parent.computer.uuid, f'{parent.get_remote_path()}/{self.TRAJECTORIES}', '.')]
        return calcinfo



def _validate_inputs(inputs, _):
    """A ``qeq:`` potential in the parameters needs its node as ``qeq_potential`` (the folder comes with it)."""
    parameters = inputs.get('parameters')
    potential = parameters.get_dict().get('potential', '') if parameters is not None else ''
    if str(potential).startswith('qeq:') and 'qeq_potential' not in inputs:
        return f'potential {potential!r} names a trained QEq potential: pass its QEqPotentialData as qeq_potential'
    return None


class MlipLabelCalculation(CalcJob):
    """``python -m aiida_perovskite.mlip.label`` on a configuration set: a packaged MLIP's energy, forces and stress.

    The code is the same Python interpreter as ``MlipCalculation``'s. ``parameters`` are the labelling settings
    (``aiida_perovskite.mlip.label.DEFAULTS``: potential, dispersion, device); the potential loads once for the
    whole set. The labelled set keeps every configuration's origin and records the potential (package, version,
    weights file and hash, dispersion). The structure search ranks its classical minima with it before the few
    lowest are relaxed with the same potential.
    """

    STDOUT = 'label.out'
    STDERR = 'label.err'

    @classmethod
    def define(cls, spec):
        from aiida_perovskite.mlip.label import validate_settings as validate_label_settings

        super().define(spec)
        spec.input('configurations', valid_type=ConfigurationSetData, help='The configurations to label.')
        spec.input('parameters', valid_type=orm.Dict, required=False,
                   validator=settings_validator(validate_label_settings),
                   help='Labelling settings over aiida_perovskite.mlip.label.DEFAULTS.')
        spec.inputs['metadata']['options']['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        spec.inputs['metadata']['options']['withmpi'].default = False
        spec.inputs['metadata']['options']['parser_name'].default = 'perovskite.mlip_label'
        spec.output('configurations', valid_type=ConfigurationSetData, required=False,
                    help='The labelled configurations (those whose labels came out finite).')
        spec.output('output_parameters', valid_type=orm.Dict,
                    help='The potential\'s record, counts, failures and seconds per configuration.')
        spec.default_output_node = 'output_parameters'
        declare(spec, 'ERROR_OUTPUT_MISSING', 'ERROR_OUTPUT_UNREADABLE', 'ERROR_MLIP_LABELLING',
                'ERROR_MLIP_NOTHING_LABELLED', 'ERROR_MLIP_LABEL_FAILED')

    def prepare_for_submission(self, folder):
        from aiida_perovskite.calculations.base import configuration_set_job
        from aiida_perovskite.mlip.label import LABELLED
        from aiida_perovskite.mlip.label import validate_settings as validate_label_settings

        settings = validate_label_settings(self.inputs.parameters.get_dict() if 'parameters' in self.inputs else {})
        return configuration_set_job(self, folder, 'aiida_perovskite.mlip.label', settings, retrieve=[LABELLED])
