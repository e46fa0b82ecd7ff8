"""``MlipRelaxWorkChain``: an MLIP relaxation that continues from its last frame until every stage converges."""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, process_handler, while_
from aiida.plugins import CalculationFactory

from aiida_perovskite.common.exit_codes import declare

from .protocols.utils import ProtocolMixin, recursive_merge

MlipCalculation = CalculationFactory('perovskite.mlip')


def qeq_potential_node(potential: str):
    """The ``QEqPotentialData`` that ``qeq:<PK or UUID>`` names; ``ValueError`` saying why not."""
    from aiida.common.exceptions import MultipleObjectsError, NotExistent

    from aiida_perovskite.data.configurations import QEqPotentialData

    try:
        node = orm.load_node(potential.removeprefix('qeq:'))
    except (NotExistent, MultipleObjectsError) as error:
        raise ValueError(f'{potential}: no QEqPotentialData with this PK or UUID ({error}); train one with '
                         '`aiida-perovskite potential train` (qeq:FOLDER works only in plain Python, with '
                         'aiida_perovskite.mlip.potentials.load_potential)') from None
    if not isinstance(node, QEqPotentialData):
        raise ValueError(f'{potential}: {type(node).__name__}<{node.pk}> is not a QEqPotentialData')
    return node


class MlipRelaxWorkChain(ProtocolMixin, BaseRestartWorkChain):
    """Run ``MlipCalculation`` until its stages converge, each new run continuing the last one's trajectories.

    A stage that runs out of steps (``ERROR_NOT_CONVERGED``) is continued from its last frame by the next
    run, with the previous run's folder as ``parent_folder``: no step is repeated and finished stages
    are skipped. Broken physics (non-finite results, a runaway volume) or a driver error stop the chain at
    once (``ERROR_SUB_PROCESS_FAILED_MLIP``): a rerun would give the same.
    """

    _process_class = MlipCalculation
    _protocol_file = 'mlip.yaml'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(MlipCalculation, namespace='mlip')
        spec.outline(
            cls.setup,
            while_(cls.should_run_process)(cls.run_process, cls.inspect_process),
            cls.results,
        )
        spec.expose_outputs(MlipCalculation)
        declare(spec, 'ERROR_SUB_PROCESS_FAILED_MLIP')

    @classmethod
    def get_builder_from_protocol(cls, code, structure: orm.StructureData, protocol=None, overrides=None,
                                  options=None):
        """A builder with the settings of ``protocols/mlip.yaml``.

        :param overrides: ``max_iterations`` and ``parameters`` (driver settings, e.g.
            ``{'parameters': {'potential': 'sevennet+d3'}}``), merged over the protocol's. A potential
            ``qeq:<PK or UUID>`` of a ``QEqPotentialData`` passes that node as the ``qeq_potential`` input.
        :param options: ``metadata.options`` of every run (resources, wall-time, scheduler lines).
        """
        inputs = recursive_merge(cls.get_protocol_inputs(protocol), overrides or {})
        builder = cls.get_builder()
        builder.max_iterations = orm.Int(int(inputs['max_iterations']))
        builder.mlip.code = code
        builder.mlip.structure = structure
        parameters = dict(inputs['parameters'])
        potential = str(parameters.get('potential', ''))
        if potential.startswith('qeq:'):  # a trained QEq potential by PK or UUID: its node becomes an input
            builder.mlip.qeq_potential = qeq_potential_node(potential)
            parameters['potential'] = f'qeq:{MlipCalculation.QEQ_FOLDER}'
        builder.mlip.parameters = orm.Dict(parameters)
        if options:
            builder.mlip.metadata.options = options
        return builder

    def setup(self):
        super().setup()
        self.ctx.inputs = AttributeDict(self.exposed_inputs(MlipCalculation, 'mlip'))

    @process_handler(priority=600, exit_codes=[
        MlipCalculation.exit_codes.ERROR_OUTPUT_MISSING,
        MlipCalculation.exit_codes.ERROR_OUTPUT_UNREADABLE,
        MlipCalculation.exit_codes.ERROR_MLIP_DRIVER,
        MlipCalculation.exit_codes.ERROR_NON_FINITE,
        MlipCalculation.exit_codes.ERROR_VOLUME_CHANGE,
    ])
    def handle_unrecoverable(self, node):
        """Stop at once: the same inputs would fail the same way (the potential, not the optimiser, broke)."""
        message = f'{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message}'
        self.report(f'{message}; not recoverable, stopping')
        return ProcessHandlerReport(True, self.exit_codes.ERROR_SUB_PROCESS_FAILED_MLIP.format(message=message))

    @process_handler(priority=500, exit_codes=[MlipCalculation.exit_codes.ERROR_NOT_CONVERGED])
    def handle_not_converged(self, node):
        """Continue from the run's last frame: its folder's trajectories become the next run's start."""
        self.ctx.inputs.parent_folder = node.outputs.remote_folder
        self.report(f'{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message} Continuing from '
                    f'RemoteData<{node.outputs.remote_folder.pk}>')
        return ProcessHandlerReport(do_break=True)
