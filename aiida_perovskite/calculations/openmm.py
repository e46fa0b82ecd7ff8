"""``OpenmmSegmentCalculation``: one MD segment run by OpenMM (a GPU where there is one) instead of LAMMPS."""

from __future__ import annotations

import json

from aiida.common import datastructures

from aiida_perovskite.calculations.lammps import LammpsSegmentCalculation
from aiida_perovskite.simulation.openmm_segment import LOG, SETTINGS


class OpenmmSegmentCalculation(LammpsSegmentCalculation):
    """The same segment as :class:`LammpsSegmentCalculation` (inputs, outputs, exit codes, restarts, parser),
    run by ``python -m aiida_perovskite.simulation.openmm_segment`` on the topology's own LAMMPS files.

    The code is a Python that has aiida-perovskite and OpenMM (``aiida-perovskite setup`` registers this
    virtualenv's as ``openmm``; on a GPU node, one with OpenMM's CUDA plugin). It picks the fastest
    platform (CUDA, HIP, OpenCL, CPU) unless ``OPENMM_DEFAULT_PLATFORM`` is set (e.g. in the code's
    ``prepend_text``); on CPUs it uses ``num_mpiprocs_per_machine x num_cores_per_mpiproc`` threads. What
    the engine changes (Langevin thermostat, Monte Carlo barostat) is in
    :mod:`aiida_perovskite.simulation.openmm_segment`.
    """

    LOG = LOG
    STDOUT = 'openmm.out'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.inputs['metadata']['options']['withmpi'].default = False

    def prepare_for_submission(self, folder):
        settings = self.segment_settings()
        resources = self.inputs.metadata.options.resources
        threads = int(resources.get('num_mpiprocs_per_machine') or 1) * int(resources.get('num_cores_per_mpiproc') or 1)
        topology = self.inputs.topology
        for name in topology.FILES:  # the system is rebuilt from them each time; a restart holds the state only
            with folder.open(name, 'wb') as handle:
                handle.write(topology.base.repository.get_object_content(name, mode='rb'))
        with folder.open(SETTINGS, 'w') as handle:
            json.dump({'settings': settings, 'threads': threads}, handle, indent=1)

        codeinfo = datastructures.CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ['-m', 'aiida_perovskite.simulation.openmm_segment', SETTINGS]
        codeinfo.stdout_name = self.STDOUT
        codeinfo.withmpi = False

        calcinfo = datastructures.CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.retrieve_list = [self.LOG, self.STDOUT] + self.data_files(settings)
        calcinfo.remote_symlink_list = self.restart_links()
        return calcinfo
