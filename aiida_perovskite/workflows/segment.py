"""``LammpsSegmentWorkChain``: one MD segment that finishes whatever interrupts it (LAMMPS, or OpenMM with an OpenMM code)."""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, calcfunction, process_handler, while_
from aiida.plugins import CalculationFactory

from aiida_perovskite.common.exit_codes import declare
from aiida_perovskite.simulation.script import validate
from aiida_perovskite.simulation.summary import THERMO_COLUMNS, merge_series

LammpsSegmentCalculation = CalculationFactory('perovskite.lammps')
#: The calculation plugin of the OpenMM engine, chosen when the code's default plugin names it.
OPENMM = 'perovskite.openmm'


@calcfunction
def merge_attempts(**nodes):
    """The thermo rows of consecutive attempts (each step once; a later attempt wins) and their step count.

    :param nodes: ``thermo_<i>`` (ArrayData) and ``parameters_<i>`` (the attempts' output_parameters).
    """
    attempts = sorted({int(key.split('_')[-1]) for key in nodes})
    series = [
        {name: nodes[f'thermo_{i}'].get_array(name) for name in THERMO_COLUMNS}
        for i in attempts if f'thermo_{i}' in nodes
    ]
    thermo = orm.ArrayData()
    for name, values in merge_series(series).items():
        thermo.set_array(name, values)
    parameters = [nodes[f'parameters_{i}'].get_dict() for i in attempts if f'parameters_{i}' in nodes]
    summary = orm.Dict({
        'attempts': len(attempts),
        'steps_run': sum(p['steps_run'] for p in parameters),
        'steps_per_attempt': [p['steps_run'] for p in parameters],
        'end_step': parameters[-1]['end_step'] if parameters else None,
    })
    return {'thermo': thermo, 'summary': summary}


class LammpsSegmentWorkChain(BaseRestartWorkChain):
    """Run a segment to its target step, resuming from its newest restart after a stop or a kill.

    Every attempt continues the step count from the restart it reads, so the
    steps of the segment are run once (after a hard kill, the steps since the
    last periodic restart are run again and their thermo rows replaced).
    Lost atoms or unstable dynamics get one retry with half the time step, then
    ``ERROR_UNSTABLE_DYNAMICS``; a LAMMPS error, a missing log or unreadable
    thermo rows stop the chain at once (``ERROR_SUB_PROCESS_FAILED_LAMMPS``).
    """

    _process_class = LammpsSegmentCalculation

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(LammpsSegmentCalculation, namespace='lammps')
        spec.outline(
            cls.setup,
            while_(cls.should_run_process)(cls.run_process, cls.inspect_process),
            cls.results,
        )
        spec.expose_outputs(LammpsSegmentCalculation, exclude=('thermo',))
        # Not required: BaseRestartWorkChain would look for them on the last calculation; results() adds them.
        spec.output('thermo', valid_type=orm.ArrayData, required=False,
                    help='Thermo rows of all attempts, each step once.')
        spec.output('summary', valid_type=orm.Dict, required=False,
                    help='Attempts and MD steps run by each and in all.')
        declare(spec, 'ERROR_SUB_PROCESS_FAILED_LAMMPS', 'ERROR_UNSTABLE_DYNAMICS')

    def setup(self):
        super().setup()
        self.ctx.inputs = AttributeDict(self.exposed_inputs(LammpsSegmentCalculation, 'lammps'))
        if self.process_class is not LammpsSegmentCalculation:
            # One Python process (threads or a GPU), never one per MPI rank; the ranks asked for become threads.
            self.ctx.inputs.metadata.setdefault('options', {})['withmpi'] = False

    @property
    def process_class(self):
        """LAMMPS's calculation, or OpenMM's when the code's default plugin is (same inputs, outputs and exit codes).

        Read from the inputs each time, not stored on the instance: a work chain reloaded from its checkpoint
        (a daemon restart) keeps its engine.
        """
        try:
            plugin = self.inputs['lammps']['code'].default_calc_job_plugin
        except (TypeError, KeyError):  # before the inputs are parsed
            return LammpsSegmentCalculation
        return CalculationFactory(OPENMM) if plugin == OPENMM else LammpsSegmentCalculation

    def get_outputs(self, node):
        """The last attempt's outputs, as exposed from ``LammpsSegmentCalculation`` (the OpenMM engine's are the same)."""
        return self.exposed_outputs(node, LammpsSegmentCalculation)

    def _report_failure(self, node, action: str) -> None:
        self.report(f'{node.process_label}<{node.pk}> failed [{node.exit_status}]: {node.exit_message}; {action}')

    @process_handler(priority=700, exit_codes=[
        LammpsSegmentCalculation.exit_codes.ERROR_LOG_MISSING,
        LammpsSegmentCalculation.exit_codes.ERROR_THERMO_PARSING,
        LammpsSegmentCalculation.exit_codes.ERROR_LAMMPS,
    ])
    def handle_unrecoverable(self, node):
        """Stop at once: a LAMMPS error, a missing log or unreadable thermo rows come back on every
        retry with the same inputs, so the generic restart would only spend another run."""
        self._report_failure(node, 'not recoverable, stopping')
        message = f'{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message}'
        return ProcessHandlerReport(True, self.exit_codes.ERROR_SUB_PROCESS_FAILED_LAMMPS.format(message=message))

    @process_handler(priority=600, exit_codes=[
        LammpsSegmentCalculation.exit_codes.ERROR_LOST_ATOMS,
        LammpsSegmentCalculation.exit_codes.ERROR_UNSTABLE,
    ])
    def handle_unstable_dynamics(self, node):
        """Retry once from the newest restart with half the time step; abort if it breaks again.

        Lost or out-of-range atoms usually mean a step too long for the fastest motion
        (an X-H stretch, a hot start). A second failure with the shorter step is the model,
        not the integration: ``ERROR_UNSTABLE_DYNAMICS``. A minimisation has no time step
        to shorten and aborts at once.
        """
        settings = self.ctx.inputs.parameters.get_dict()
        message = f'{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message}'
        if settings.get('stage') == 'minimise' or self.ctx.get('halved_timestep'):
            self._report_failure(node, 'the dynamics broke again, aborting')
            return ProcessHandlerReport(True, self.exit_codes.ERROR_UNSTABLE_DYNAMICS.format(message=message))
        timestep = float(validate(settings)['timestep']) / 2
        settings['timestep'] = timestep
        self.ctx.halved_timestep = True
        source = self._resume_from(node, settings)
        self.ctx.inputs.parameters = orm.Dict(settings)
        self._report_failure(node, f'retrying from {source} with the time step halved to {timestep:g} fs')
        return ProcessHandlerReport(do_break=True)

    @process_handler(priority=500, exit_codes=[
        LammpsSegmentCalculation.exit_codes.ERROR_TIMEOUT_WITH_RESTART,
        LammpsSegmentCalculation.exit_codes.ERROR_KILLED_WITH_RESTART,
        LammpsSegmentCalculation.exit_codes.ERROR_KILLED_WITHOUT_RESTART,
    ])
    def handle_interrupted(self, node):
        """Continue from the newest restart in the interrupted run's folder.

        That folder links the restart files it started from, so even a run
        killed before writing its own resumes from where it began.
        """
        settings = self.ctx.inputs.parameters.get_dict()
        if settings.get('stage') == 'minimise':
            # A minimisation writes its restart only at the end: start it again from the same input.
            self.report(f'{node.process_label}<{node.pk}> stopped [{node.exit_status}]; minimising again')
            return ProcessHandlerReport(do_break=True)
        if settings.get('create_velocities'):
            # The restart carries the velocities; drawing new ones would break the trajectory.
            self.ctx.inputs.parameters = orm.Dict({**settings, 'create_velocities': False})
        self.ctx.inputs.parent_folder = node.outputs.remote_folder
        self.report(f'{node.process_label}<{node.pk}> stopped [{node.exit_status}]: {node.exit_message}; resuming')
        return ProcessHandlerReport(do_break=True)

    def _resume_from(self, node, settings: dict) -> str:
        """Point the next attempt at the newest restart ``node`` can offer; edits ``settings`` in place.

        Its folder holds its own periodic restarts and links those it started from; a run from
        scratch that wrote none starts again from the topology.
        """
        parameters = node.outputs.output_parameters if 'output_parameters' in node.outputs else None
        wrote = parameters.get('wrote_restart', False) if parameters is not None else False
        if not wrote and 'parent_folder' not in self.ctx.inputs:
            return 'the initial configuration'
        self.ctx.inputs.parent_folder = node.outputs.remote_folder
        settings['create_velocities'] = False  # the restart carries the velocities
        return f'the newest restart in RemoteData<{node.outputs.remote_folder.pk}>'

    def results(self):
        result = super().results()
        if result is not None and result.status:
            return result
        nodes = {}
        for index, child in enumerate(self.ctx.children):
            if 'thermo' in child.outputs:
                nodes[f'thermo_{index}'] = child.outputs.thermo
            if 'output_parameters' in child.outputs:
                nodes[f'parameters_{index}'] = child.outputs.output_parameters
        merged = merge_attempts(**nodes)
        self.out('thermo', merged['thermo'])
        self.out('summary', merged['summary'])
        return None
