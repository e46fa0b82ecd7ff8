"""``MaterialWorkChain``: one material from its CIF to per-temperature summaries, targets and features."""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain

from aiida_perovskite.analysis import PhysicsChecks, TargetSettings
from aiida_perovskite.calculations.functions.targets import compute_features, compute_targets
from aiida_perovskite.calculations.functions.validation import check_physics
from aiida_perovskite.common.exit_codes import declare
from aiida_perovskite.workflows.ladder import TemperatureLadderWorkChain, judged_configuration
from aiida_perovskite.workflows.parametrise import ParametriseWorkChain
from aiida_perovskite.workflows.protocols.utils import ProtocolMixin


class MaterialWorkChain(ProtocolMixin, WorkChain):
    """Parametrise the CIF (:class:`ParametriseWorkChain`), run the temperature ladder on it, then compute
    the learning targets from the ladder and the structure features from the decomposition."""

    _protocol_file = 'material.yaml'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('cif', valid_type=orm.CifData)
        spec.expose_inputs(ParametriseWorkChain, namespace='parametrise', exclude=('cif',))
        spec.expose_inputs(TemperatureLadderWorkChain, namespace='ladder', exclude=('topology',))
        spec.input('target_settings', valid_type=orm.Dict, default=lambda: orm.Dict(TargetSettings().as_dict()),
                   help='Thresholds of the quality flags of the targets (TargetSettings).')
        spec.input('physics_checks', valid_type=orm.Dict, default=lambda: orm.Dict(PhysicsChecks().as_dict()),
                   help='Thresholds of the broken-physics flag (PhysicsChecks): octahedra lost, volume change.')
        spec.outline(cls.parametrise, cls.inspect_parametrise, cls.run_ladder, cls.inspect_ladder, cls.analyse)
        spec.expose_outputs(ParametriseWorkChain, namespace='parametrise')
        spec.expose_outputs(TemperatureLadderWorkChain, namespace='ladder')
        spec.output('targets', valid_type=orm.Dict, help='Cp(U), V_atom per temperature and quality flags.')
        spec.output('features', valid_type=orm.Dict, help='Structure features of the CIF (family:name).')
        spec.output('physics', valid_type=orm.Dict, required=False,
                    help='The broken-physics check (octahedra intact, volume change against the input cell).')
        declare(spec, 'ERROR_SUB_PROCESS_FAILED_PARAMETRISE', 'ERROR_SUB_PROCESS_FAILED_LADDER', 'ERROR_BROKEN_PHYSICS')

    @classmethod
    def get_builder_from_protocol(cls, codes: dict, cif: orm.CifData, protocol=None, overrides=None, options=None):
        """A builder for ``protocol``: the parametrisation and the ladder are built by their own
        :meth:`get_builder_from_protocol` with the protocol of the same name.

        :param codes: the AmberTools codes and ``lammps``, by tool name.
        :param overrides: a ``parametrise`` and a ``ladder`` section, passed on as those builders'
            overrides (merged key by key: ``{'lammps': {'replication': ...}}`` keeps the protocol's cut-off).
        :param options: ``metadata.options`` of every LAMMPS run.
        """
        inputs = cls.get_protocol_inputs(protocol, overrides)
        protocol = protocol or cls.get_default_protocol()
        parametrise = ParametriseWorkChain.get_builder_from_protocol(codes, cif, protocol, inputs.get('parametrise'))
        parametrise.pop('cif')  # the material's own input
        ladder = TemperatureLadderWorkChain.get_builder_from_protocol(
            codes['lammps'], None, protocol, inputs.get('ladder'), options
        )
        builder = cls.get_builder()
        builder.cif = cif
        builder.parametrise = parametrise
        builder.ladder = ladder
        if 'target_settings' in inputs:
            builder.target_settings = orm.Dict(inputs['target_settings'])
        if 'physics_checks' in inputs:
            builder.physics_checks = orm.Dict(inputs['physics_checks'])
        return builder

    def parametrise(self):
        inputs = AttributeDict(self.exposed_inputs(ParametriseWorkChain, 'parametrise'))
        inputs.cif = self.inputs.cif
        inputs.metadata = {'call_link_label': 'parametrise'}
        return ToContext(parametrisation=self.submit(ParametriseWorkChain, **inputs))

    def inspect_parametrise(self):
        node = self.ctx.parametrisation
        self.out_many(self.exposed_outputs(node, ParametriseWorkChain, namespace='parametrise'))
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_SUB_PROCESS_FAILED_PARAMETRISE.format(message=f'[{node.exit_status}] {node.exit_message}')
        return None

    def run_ladder(self):
        inputs = AttributeDict(self.exposed_inputs(TemperatureLadderWorkChain, 'ladder'))
        inputs.topology = self.ctx.parametrisation.outputs.topology
        inputs.metadata = {'call_link_label': 'ladder'}
        return ToContext(ladder=self.submit(TemperatureLadderWorkChain, **inputs))

    def inspect_ladder(self):
        node = self.ctx.ladder
        self.out_many(self.exposed_outputs(node, TemperatureLadderWorkChain, namespace='ladder'))
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_SUB_PROCESS_FAILED_LADDER.format(message=f'[{node.exit_status}] {node.exit_message}')
        return None

    def analyse(self):
        """Targets of the ladder and features of the structure, each a calcfunction node, and the broken-physics
        check: a run whose octahedra broke or whose volume ran away keeps its outputs and ends with
        ``ERROR_BROKEN_PHYSICS`` (a flag that `status`, `report` and the datasets see), never as a success."""
        summaries = self.ctx.ladder.outputs.summaries
        self.out('targets', compute_targets(self.inputs.target_settings, **summaries))
        self.out('features', compute_features(self.ctx.parametrisation.outputs.decomposition))
        parametrisation = self.ctx.parametrisation.outputs
        physics = check_physics(parametrisation.structure, parametrisation.decomposition,
                                judged_configuration(self.ctx.ladder.outputs),
                                self.inputs.physics_checks, **summaries)
        self.out('physics', physics)
        if physics['broken']:
            message = '; '.join(physics['problems'])
            self.report(f'broken physics: {message}')
            return self.exit_codes.ERROR_BROKEN_PHYSICS.format(message=message)
        return None
