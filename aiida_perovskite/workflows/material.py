"""``MaterialWorkChain``: one material from its CIF to per-temperature summaries, targets and features."""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain

from aiida_perovskite.analysis import TargetSettings
from aiida_perovskite.calculations.functions.targets import compute_features, compute_targets
from aiida_perovskite.common.exit_codes import declare
from aiida_perovskite.workflows.ladder import TemperatureLadderWorkChain, _update, load_protocol
from aiida_perovskite.workflows.parametrise import ParametriseWorkChain


class MaterialWorkChain(WorkChain):
    """Parametrise the CIF (:class:`ParametriseWorkChain`), run the temperature ladder on it, then compute
    the learning targets from the ladder and the structure features from the decomposition."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('cif', valid_type=orm.CifData)
        spec.expose_inputs(ParametriseWorkChain, namespace='parametrise', exclude=('cif',))
        spec.expose_inputs(TemperatureLadderWorkChain, namespace='ladder', exclude=('topology',))
        spec.input('target_settings', valid_type=orm.Dict, default=lambda: orm.Dict(TargetSettings().as_dict()),
                   help='Thresholds of the quality flags of the targets (TargetSettings).')
        spec.outline(cls.parametrise, cls.inspect_parametrise, cls.run_ladder, cls.inspect_ladder, cls.analyse)
        spec.expose_outputs(ParametriseWorkChain, namespace='parametrise')
        spec.expose_outputs(TemperatureLadderWorkChain, namespace='ladder')
        spec.output('targets', valid_type=orm.Dict, help='Cp(U), V_atom per temperature and quality flags.')
        spec.output('features', valid_type=orm.Dict, help='Structure features of the CIF (family:name).')
        declare(spec, 'ERROR_SUB_PROCESS_FAILED_PARAMETRISE', 'ERROR_SUB_PROCESS_FAILED_LADDER')

    @classmethod
    def get_builder_from_protocol(cls, codes: dict, cif: orm.CifData, protocol=None, overrides=None, options=None):
        """A builder for ``protocol``; ``overrides`` may hold ``parametrise`` and ``ladder`` sections."""
        inputs = load_protocol(protocol)
        overrides = overrides or {}
        # Merged key by key like the ladder's overrides: {'lammps': {'replication': ...}} keeps the protocol's cut-off.
        parametrise = _update(inputs['parametrise'], overrides.get('parametrise', {}))
        builder = cls.get_builder()
        builder.cif = cif
        builder.parametrise.codes = {tool: codes[tool] for tool in ('antechamber', 'parmchk2', 'tleap')}
        builder.parametrise.charge_method = orm.Str(parametrise['charge_method'])
        builder.parametrise.charge_model = orm.Str(parametrise.get('charge_model', 'formal'))
        builder.parametrise.atom_types = orm.Str(parametrise['atom_types'])
        builder.parametrise.parameter_set = orm.Str(parametrise['parameter_set'])
        builder.parametrise.heteroatom_policy = orm.Str(parametrise['heteroatom_policy'])
        builder.parametrise.lammps = orm.Dict(parametrise['lammps'])
        ladder = TemperatureLadderWorkChain.get_builder_from_protocol(
            codes['lammps'], None, protocol, overrides.get('ladder'), options
        )
        builder.ladder.code = ladder.code
        builder.ladder.parameters = ladder.parameters
        if options:
            builder.ladder.options = options
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
        """Targets of the ladder and features of the structure, each a calcfunction node."""
        self.out('targets', compute_targets(self.inputs.target_settings, **self.ctx.ladder.outputs.summaries))
        self.out('features', compute_features(self.ctx.parametrisation.outputs.decomposition))
