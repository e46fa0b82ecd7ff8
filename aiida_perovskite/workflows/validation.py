"""``ValidationWorkChain``: how far the force field moves a cell from its reference at the reference temperature."""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain

from aiida_perovskite.calculations.functions.validation import compare_with_reference
from aiida_perovskite.common.exit_codes import declare
from aiida_perovskite.workflows.material import MaterialWorkChain

#: The run behind a validation: the ``screening`` protocol's settings with one temperature.
VALIDATION_DEFAULTS = {
    'steps': 10000,            # production steps (1 fs) sampled for the mean cell
    'equilibration_steps': 10000,
    'replication': {'min_width': 12.0},
    'charge_method': 'bcc',
}


class ValidationWorkChain(WorkChain):
    """Parametrise a CIF with a chosen charge model and parameter set, run NPT at the reference
    temperature (:class:`MaterialWorkChain` with a one-temperature ladder), and compare the mean
    simulated cell with the reference cell (``compare_with_reference``): lattice deviations named
    in-plane or stacking, volume per metal, layer spacing and the share of intact octahedra."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(MaterialWorkChain, namespace='material')
        spec.input('reference', valid_type=orm.Dict,
                   help='temperature (K), temperature_source, and optionally a reference cell (see '
                        'compare_with_reference); without a cell the CIF\'s own cell is the reference.')
        spec.outline(cls.run_material, cls.inspect_material, cls.compare)
        spec.output('validation', valid_type=orm.Dict, help='Deviations from the reference and the octahedra check.')
        spec.output('structure', valid_type=orm.StructureData, help='The final simulated configuration.')
        declare(spec, 'ERROR_SUB_PROCESS_FAILED_MATERIAL')

    @classmethod
    def get_builder_from_protocol(cls, codes: dict, cif: orm.CifData, temperature: float, temperature_source: str,
                                  charge_model: str = 'formal', parameter_set: str = 'auto', cell: dict | None = None,
                                  settings: dict | None = None, options: dict | None = None):
        """A builder: the ``screening`` protocol at one temperature, ``settings`` overriding
        :data:`VALIDATION_DEFAULTS` (``steps``, ``equilibration_steps``, ``replication``, ``charge_method``)."""
        s = {**VALIDATION_DEFAULTS, **(settings or {})}
        steps, equilibration = int(s['steps']), int(s['equilibration_steps'])
        overrides = {
            'parametrise': {'charge_method': s['charge_method'], 'charge_model': charge_model,
                            'parameter_set': parameter_set,
                            'lammps': {'replication': s['replication'], 'cutoff': 12.0, 'kspace_accuracy': 1.0e-5}},
            'ladder': {'temperatures': [float(temperature)], 'steps_per_temperature': steps,
                       'equilibration_steps': equilibration, 'equilibration_cut': 0, 'thermo_every': 100,
                       'restart_every': max(steps // 2, 100)},
        }
        material = MaterialWorkChain.get_builder_from_protocol(codes, cif, 'screening', overrides, options)
        builder = cls.get_builder()
        builder.material = material._inputs(prune=True)  # noqa: SLF001 (the nested builder's inputs)
        reference = {'temperature': float(temperature), 'temperature_source': temperature_source}
        if cell:
            reference['cell'] = cell
        builder.reference = orm.Dict(reference)
        return builder

    def run_material(self):
        inputs = AttributeDict(self.exposed_inputs(MaterialWorkChain, 'material'))
        inputs.metadata = {'call_link_label': 'material'}
        return ToContext(material=self.submit(MaterialWorkChain, **inputs))

    def inspect_material(self):
        node = self.ctx.material
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_SUB_PROCESS_FAILED_MATERIAL.format(message=f'[{node.exit_status}] {node.exit_message}')
        return None

    def compare(self):
        node = self.ctx.material
        summaries = node.outputs.ladder.summaries
        summary = summaries[next(iter(summaries))]
        validation = compare_with_reference(
            node.outputs.parametrise.structure, node.outputs.parametrise.decomposition, summary,
            node.outputs.parametrise.topology, node.outputs.ladder.structure, self.inputs.reference,
        )
        self.out('validation', validation)
        self.out('structure', node.outputs.ladder.structure)
        deviations = validation['deviations']
        self.report(f'{validation["file"]}: volume {deviations["volume"]:+.1f}%, in-plane {deviations["in_plane"]:+.1f}%, '
                    f'stacking {deviations["stacking"]:+.1f}%, octahedra intact {validation["octahedra"]["share"]:.0%}')
