"""``ValidationWorkChain``: how far the force field moves a cell from its reference at the reference temperature."""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain

from aiida_perovskite.calculations.functions.validation import compare_with_reference
from aiida_perovskite.common.exit_codes import declare
from aiida_perovskite.workflows.ladder import judged_configuration
from aiida_perovskite.workflows.material import MaterialWorkChain
from aiida_perovskite.workflows.protocols.utils import ProtocolMixin, recursive_merge


class ValidationWorkChain(ProtocolMixin, WorkChain):
    """Parametrise a CIF with a chosen charge model and parameter set, run NPT at the reference
    temperature (:class:`MaterialWorkChain` with a one-temperature ladder), and compare the mean
    simulated cell with the reference cell (``compare_with_reference``): lattice deviations named
    in-plane or stacking, volume per metal, layer spacing and the share of intact octahedra."""

    _protocol_file = 'validation.yaml'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(MaterialWorkChain, namespace='material')
        spec.input('reference', valid_type=orm.Dict,
                   help='temperature (K), temperature_source, and optionally a reference cell (see '
                        'compare_with_reference; without a cell the CIF\'s own cell is the reference) and '
                        'physics_checks (the thresholds of the broken-physics flag, PhysicsChecks).')
        spec.outline(cls.run_material, cls.inspect_material, cls.compare)
        spec.output('validation', valid_type=orm.Dict, help='Deviations from the reference and the octahedra check.')
        spec.output('structure', valid_type=orm.StructureData, help='The final simulated configuration.')
        declare(spec, 'ERROR_SUB_PROCESS_FAILED_MATERIAL', 'ERROR_BROKEN_PHYSICS')

    @classmethod
    def get_builder_from_protocol(cls, codes: dict, cif: orm.CifData, reference: dict, protocol=None, overrides=None,
                                  options=None):
        """A builder: the material run of ``protocol`` at the reference temperature, with the settings
        of ``protocols/validation.yaml``.

        :param reference: ``temperature`` (K), ``temperature_source`` and optionally ``cell`` (see
            ``compare_with_reference``); it becomes the ``reference`` input.
        :param overrides: ``steps``, ``equilibration_steps`` and a ``material`` section (passed on to
            :meth:`MaterialWorkChain.get_builder_from_protocol` as its overrides), e.g.
            ``{'material': {'parametrise': {'charge_model': 'myp', 'parameter_set': 'myp-pbi'}}}``.
        :param options: ``metadata.options`` of every LAMMPS run.
        """
        inputs = cls.get_protocol_inputs(protocol, overrides)
        steps, equilibration = int(inputs['steps']), int(inputs['equilibration_steps'])
        run = {'ladder': {'steps_per_temperature': steps, 'equilibration_steps': equilibration,
                          'restart_every': max(steps // 2, 100)}}
        material_overrides = recursive_merge(run, inputs.get('material', {}))
        material_overrides['ladder']['temperatures'] = [float(reference['temperature'])]  # the one compared
        material = MaterialWorkChain.get_builder_from_protocol(
            codes, cif, protocol or cls.get_default_protocol(), material_overrides, options
        )
        builder = cls.get_builder()
        builder.material = material
        reference = {**reference, 'temperature': float(reference['temperature'])}
        if 'physics_checks' in material and 'physics_checks' not in reference:  # the material protocol's thresholds
            reference['physics_checks'] = material.physics_checks.get_dict()
        builder.reference = orm.Dict(reference)
        return builder

    def run_material(self):
        inputs = AttributeDict(self.exposed_inputs(MaterialWorkChain, 'material'))
        inputs.metadata = {'call_link_label': 'material'}
        return ToContext(material=self.submit(MaterialWorkChain, **inputs))

    def inspect_material(self):
        node = self.ctx.material
        broken = node.exit_status == MaterialWorkChain.exit_codes.ERROR_BROKEN_PHYSICS.status
        if not node.is_finished_ok and not broken:  # a broken run is still compared, then flagged
            return self.exit_codes.ERROR_SUB_PROCESS_FAILED_MATERIAL.format(message=f'[{node.exit_status}] {node.exit_message}')
        return None

    def compare(self):
        node = self.ctx.material
        summaries = node.outputs.ladder.summaries
        summary = summaries[next(iter(summaries))]
        validation = compare_with_reference(
            node.outputs.parametrise.structure, node.outputs.parametrise.decomposition, summary,
            node.outputs.parametrise.topology, judged_configuration(node.outputs.ladder), self.inputs.reference,
        )
        self.out('validation', validation)
        self.out('structure', node.outputs.ladder.structure)
        deviations = validation['deviations']
        self.report(f'{validation["file"]}: volume {deviations["volume"]:+.1f}%, in-plane {deviations["in_plane"]:+.1f}%, '
                    f'stacking {deviations["stacking"]:+.1f}%, octahedra intact {validation["octahedra"]["share"]:.0%}')
        problems = list(validation['physics']['problems'])
        if not problems and not node.is_finished_ok:  # the material's own check (every temperature) flagged it
            problems = list(node.outputs.physics['problems'])
        if problems:
            return self.exit_codes.ERROR_BROKEN_PHYSICS.format(message='; '.join(problems))
        return None
