"""``LammpsSegmentCalculation``: one MD segment (minimisation, or NPT up to an absolute step)."""

from __future__ import annotations

from aiida import orm
from aiida.common import datastructures
from aiida.engine import CalcJob

from aiida_perovskite.common.exit_codes import declare
from aiida_perovskite.data import LammpsTopologyData
from aiida_perovskite.simulation.script import (
    FINAL_DATA,
    QUENCHED_DATA,
    RESTART_PATTERN,
    SEGMENT_LOG,
    segment_script,
    validate,
)


class LammpsSegmentCalculation(CalcJob):
    """LAMMPS on a topology, either from scratch or from the newest restart file of a parent folder.

    The step count continues across segments (``run TARGET upto``), so a
    segment interrupted at any point is resumed by another segment with the
    same ``parameters`` and the interrupted one as ``parent_folder``. Its
    restart files are symlinked, not copied. Stops itself cleanly before the
    wall-time when ``parameters.timeout`` or ``metadata.options.max_wallclock_seconds``
    is set. ``metadata.options.resources.num_cores_per_mpiproc`` > 1 runs OpenMP threads.
    """

    INPUT = 'in.lammps'
    LOG = SEGMENT_LOG
    STDOUT = 'lammps.out'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('topology', valid_type=LammpsTopologyData, help='The system (data file and force field).')
        spec.input('parameters', valid_type=orm.Dict, help='Segment settings (see simulation.script.SEGMENT_DEFAULTS).',
                   validator=_validate_parameters)
        spec.input('parent_folder', valid_type=orm.RemoteData, required=False,
                   help='Folder of the segment to continue from (its newest restart file).')
        spec.inputs['metadata']['options']['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        spec.inputs['metadata']['options']['withmpi'].default = True
        spec.inputs['metadata']['options']['parser_name'].default = 'perovskite.lammps'
        spec.output('thermo', valid_type=orm.ArrayData, help='Every thermo row, one array per column.')
        spec.output('output_parameters', valid_type=orm.Dict, help='Steps run, end step, speed, status.')
        spec.output('final_data', valid_type=orm.SinglefileData, required=False,
                    help='The last configuration as a LAMMPS data file (when asked for).')
        spec.output('quenched_data', valid_type=orm.SinglefileData, required=False,
                    help='That configuration with its atoms minimised in its box (when asked for: quench).')
        spec.default_output_node = 'output_parameters'
        # ERROR_NO_RETRIEVED_FOLDER (100) is CalcJob's own.
        declare(spec, 'ERROR_LOG_MISSING', 'ERROR_THERMO_PARSING', 'ERROR_LAMMPS',
                'ERROR_TIMEOUT_WITH_RESTART', 'ERROR_KILLED_WITH_RESTART', 'ERROR_KILLED_WITHOUT_RESTART',
                'ERROR_LOST_ATOMS', 'ERROR_UNSTABLE')

    @staticmethod
    def data_files(settings: dict) -> list[str]:
        """The configurations a segment of ``settings`` writes (retrieved)."""
        return ([FINAL_DATA] if settings['write_data'] else []) + ([QUENCHED_DATA] if settings['quench'] else [])

    def segment_settings(self) -> dict:
        """The validated segment settings, with a ``timeout`` that leaves time before the scheduler's wall-time."""
        settings = validate(self.inputs.parameters.get_dict())
        options = self.inputs.metadata.options
        if not settings['timeout'] and options.get('max_wallclock_seconds'):
            walltime = int(options.max_wallclock_seconds)
            settings['timeout'] = max(walltime - max(60, walltime // 20), walltime // 2)
        return settings

    def restart_links(self) -> list:
        """The parent's restart files, linked into the working folder (none when starting from the topology)."""
        if 'parent_folder' not in self.inputs:
            return []
        parent = self.inputs.parent_folder
        return [(parent.computer.uuid, f'{parent.get_remote_path()}/{RESTART_PATTERN}', '.')]

    def prepare_for_submission(self, folder):
        settings = self.segment_settings()
        options = self.inputs.metadata.options
        from_restart = 'parent_folder' in self.inputs

        topology = self.inputs.topology
        names = topology.FILES if not from_restart else (topology.COEFFICIENTS_FILE,)
        for name in names:
            with folder.open(name, 'wb') as handle:
                handle.write(topology.base.repository.get_object_content(name, mode='rb'))
        with folder.open(self.INPUT, 'w') as handle:
            handle.write(segment_script(settings, from_restart, topology.FORCEFIELD_FILE, topology.COEFFICIENTS_FILE))

        # AiiDA exports OMP_NUM_THREADS from this resource; LAMMPS also needs the OPENMP styles.
        threads = int(options.resources.get('num_cores_per_mpiproc') or 1)
        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ['-in', self.INPUT, '-log', self.LOG, '-nocite']
        if threads > 1:
            codeinfo.cmdline_params += ['-sf', 'omp', '-pk', 'omp', str(threads)]
        codeinfo.stdout_name = self.STDOUT
        codeinfo.withmpi = options.withmpi

        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.retrieve_list = [self.LOG, self.STDOUT] + self.data_files(settings)
        calcinfo.remote_symlink_list = self.restart_links()
        return calcinfo


def _validate_parameters(value, _):
    try:
        validate(value.get_dict())
    except ValueError as error:
        return str(error)
    return None
