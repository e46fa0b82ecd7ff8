"""Shared shape of the serial AmberTools calculations (antechamber, parmchk2, tleap), of the labelling jobs on a
configuration set, and of input validators."""

from __future__ import annotations

from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from aiida_perovskite.common.exit_codes import declare


def settings_validator(validate):
    """A spec validator of a ``parameters`` Dict: ``validate(dict)``'s error as the message, or None."""

    def validator(value, _):
        try:
            validate(value.get_dict())
        except (ValueError, TypeError, AttributeError) as error:
            return str(error)
        return None

    return validator


def configuration_set_job(calculation, folder, module: str, settings: dict, arguments=(), retrieve=()):
    """The CalcInfo of ``python -m module settings.json configurations.extxyz [arguments]`` on the calculation's
    ``configurations``, with ``settings`` (validated) written beside them; ``retrieve``: the files it writes."""
    import json

    from aiida_perovskite.mlip.xtb import CONFIGURATIONS, RESULTS, SETTINGS, write

    with folder.open(SETTINGS, 'w') as handle:
        json.dump(settings, handle, indent=1)
    write(folder.get_abs_path(CONFIGURATIONS), calculation.inputs.configurations.configurations())
    codeinfo = datastructures.CodeInfo()
    codeinfo.code_uuid = calculation.inputs.code.uuid
    codeinfo.cmdline_params = ['-m', module, SETTINGS, CONFIGURATIONS, *arguments]
    codeinfo.stdout_name = calculation.STDOUT
    codeinfo.stderr_name = calculation.STDERR
    calcinfo = datastructures.CalcInfo()
    calcinfo.codes_info = [codeinfo]
    calcinfo.retrieve_list = [RESULTS, *retrieve, calculation.STDOUT, calculation.STDERR]
    return calcinfo


class AmberToolCalculation(CalcJob):
    """A single-process run of one AmberTools program in its working directory.

    Subclasses name their files, validate their ``parameters`` and build the command line.
    """

    STDOUT = 'stdout.txt'
    STDERR = 'stderr.txt'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('parameters', valid_type=orm.Dict, required=False, help='Settings of the run.')
        spec.inputs['metadata']['options']['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        spec.inputs['metadata']['options']['withmpi'].default = False
        # ERROR_NO_RETRIEVED_FOLDER (100) is CalcJob's own.
        declare(spec, 'ERROR_OUTPUT_MISSING')

    def settings(self) -> dict:
        """The ``parameters`` merged over the defaults, validated."""
        raise NotImplementedError

    def command_line(self, settings: dict) -> list[str]:
        raise NotImplementedError

    def write_inputs(self, folder, settings: dict) -> None:
        raise NotImplementedError

    def retrieved_files(self) -> list[str]:
        raise NotImplementedError

    @staticmethod
    def copy_file(node: orm.SinglefileData, folder, name: str) -> None:
        """Put the content of a file node into the job's folder as ``name``."""
        with node.open(mode='rb') as source, folder.open(name, 'wb') as target:
            target.write(source.read())

    def prepare_for_submission(self, folder):
        settings = self.settings()
        self.write_inputs(folder, settings)
        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = self.command_line(settings)
        codeinfo.stdout_name = self.STDOUT
        codeinfo.stderr_name = self.STDERR
        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.retrieve_list = [self.STDOUT, self.STDERR, *self.retrieved_files()]
        return calcinfo


def merged(parameters: orm.Dict | None, defaults: dict, choices: dict[str, tuple]) -> dict:
    """``parameters`` over ``defaults``; unknown keys or values outside ``choices`` raise ``ValueError``."""
    given = parameters.get_dict() if parameters is not None else {}
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ValueError(f'unknown parameter(s) {unknown}; accepted: {sorted(defaults)}')
    settings = {**defaults, **given}
    for key, allowed in choices.items():
        if settings[key] not in allowed:
            raise ValueError(f'{key} must be one of {allowed}, not {settings[key]!r}')
    return settings
