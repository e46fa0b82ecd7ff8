"""``TemperatureLadderWorkChain``: minimisation, equilibration, then NPT at each temperature in turn."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain, while_

from aiida_perovskite.calculations.functions.ladder import final_structure, ladder_series, summarise_segment
from aiida_perovskite.common.exit_codes import declare
from aiida_perovskite.data import LammpsTopologyData
from aiida_perovskite.workflows.protocols.utils import ProtocolMixin
from aiida_perovskite.workflows.segment import LammpsSegmentWorkChain

#: Settings of the ladder that are passed on to every segment unchanged.
SEGMENT_KEYS = ('timestep', 'thermo_every', 'restart_every', 'barostat', 'pressure', 'tdamp', 'pdamp',
                'kspace_accuracy', 'shake', 'seed', 'timeout')


def segment_settings(ladder: dict, topology=None, stage: str = 'npt', **settings) -> dict:
    """The complete settings of one segment of a ladder with settings ``ladder`` (``parameters``).

    The PPPM accuracy is the ladder's ``kspace_accuracy`` if it sets one, else the topology's (the one
    its ``forcefield.lmp`` was written with); a minimisation also gets the ladder's ``minimise``.
    ``settings`` are the segment's own (``target_step``, ``temperature``, ``create_velocities``...).
    """
    segment = {key: ladder[key] for key in SEGMENT_KEYS if key in ladder}
    if 'kspace_accuracy' not in segment and topology is not None:
        segment['kspace_accuracy'] = topology.base.attributes.get('kspace_accuracy')
    segment.update(stage=stage, **settings)
    if stage == 'minimise':
        segment['minimise'] = ladder['minimise']
    return segment


def _temperature_label(temperature: float) -> str:
    return f'T{temperature:g}'.replace('.', 'p')


class TemperatureLadderWorkChain(ProtocolMixin, WorkChain):
    """NPT temperature ladder on a LAMMPS topology.

    The step count runs on across the whole ladder: the equilibration ends at
    step E, temperature i covers steps E + i*n to E + (i+1)*n, each segment
    starting from the previous one's final restart. Each segment finishes
    itself after wall-time stops or kills (:class:`LammpsSegmentWorkChain`),
    and a summary node is attached as soon as a temperature is done, so an
    interrupted ladder resumed by the daemon never repeats one.
    """

    _protocol_file = 'ladder.yaml'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('topology', valid_type=LammpsTopologyData, help='The system to simulate.')
        spec.input('code', valid_type=orm.AbstractCode, help='The LAMMPS code.')
        spec.input('parameters', valid_type=orm.Dict, help='Ladder settings (see protocols/ladder.yaml).',
                   validator=_validate_parameters)
        spec.input('max_iterations', valid_type=orm.Int, default=lambda: orm.Int(10),
                   help='Attempts per segment before giving up.')
        spec.input('options', valid_type=dict, non_db=True, required=False,
                   help='metadata.options of every LAMMPS run: resources (MPI ranks; num_cores_per_mpiproc for '
                        'OpenMP threads), max_wallclock_seconds, queue...')
        spec.outline(
            cls.setup,
            cls.minimise,
            cls.inspect_segment,
            cls.equilibrate,
            cls.inspect_segment,
            while_(cls.has_next_temperature)(
                cls.run_temperature,
                cls.inspect_segment,
                cls.summarise,
            ),
            cls.finalise,
        )
        spec.output_namespace('summaries', valid_type=orm.Dict, dynamic=True,
                              help='Per temperature (T200, T210...): means and standard deviations after the cut.')
        spec.output('thermo', valid_type=orm.ArrayData, help='Thinned thermo series of all temperatures.')
        spec.output('structure', valid_type=orm.StructureData, help='The final configuration.')
        spec.output('quenched_structure', valid_type=orm.StructureData, required=False,
                    help='The final configuration with its atoms minimised in the final box: what the octahedra '
                         'check reads (a bond stretched by a vibration relaxes back, a broken one stays broken).')
        declare(spec, 'ERROR_SUB_PROCESS_FAILED_SEGMENT')

    @classmethod
    def get_builder_from_protocol(cls, code, topology, protocol=None, overrides=None, options=None):
        """A builder with the ladder settings of ``protocol`` (``thesis``, ``screening`` or ``fast``).

        :param topology: the system, or None when a parent sets it later (``MaterialWorkChain``).
        :param overrides: ladder settings that replace the protocol's (e.g. ``{'temperatures': [300]}``).
        :param options: ``metadata.options`` for every LAMMPS run (MPI ranks, threads, wall-time).
        """
        settings = cls.get_protocol_inputs(protocol, overrides)
        builder = cls.get_builder()
        builder.code = code
        if topology is not None:
            builder.topology = topology
        builder.parameters = orm.Dict(settings)
        if options:
            builder.options = options
        return builder

    def setup(self):
        self.ctx.settings = self.inputs.parameters.get_dict()
        self.ctx.index = 0
        self.ctx.step = 0
        self.ctx.parent = None
        self.ctx.thermos = []
        # SHAKE holds each X-H bond rigid: the targets add back the k_B/2 per bond it removes from d<U>/dT.
        self.ctx.n_constraints = self.inputs.topology.hydrogen_bond_count if self.ctx.settings.get('shake') else 0

    def _submit_segment(self, stage: str, label: str, **settings):
        segment = segment_settings(self.ctx.settings, self.inputs.topology, stage, **settings)
        inputs = {
            'lammps': {
                'code': self.inputs.code,
                'topology': self.inputs.topology,
                'parameters': orm.Dict(segment),
                'metadata': {'options': dict(self.inputs.options) if 'options' in self.inputs else {}},
            },
            'max_iterations': self.inputs.max_iterations,
            'metadata': {'call_link_label': label, 'label': label},
        }
        if self.ctx.parent is not None:
            inputs['lammps']['parent_folder'] = self.ctx.parent
        self.ctx.stage = label
        return ToContext(segment=self.submit(LammpsSegmentWorkChain, **inputs))

    def minimise(self):
        self.report('minimising')
        return self._submit_segment('minimise', 'minimise', target_step=0)

    def equilibrate(self):
        settings = self.ctx.settings
        temperature = settings.get('equilibration_temperature', settings['temperatures'][0])
        self.ctx.step = int(settings['equilibration_steps'])
        self.report(f'equilibrating at {temperature} K for {self.ctx.step} steps')
        return self._submit_segment('npt', 'equilibrate', temperature=temperature, target_step=self.ctx.step,
                                    create_velocities=True)

    def inspect_segment(self):
        node = self.ctx.segment
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_SUB_PROCESS_FAILED_SEGMENT.format(
                stage=self.ctx.stage, message=f'{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message}'
            )
        self.ctx.parent = node.outputs.remote_folder
        return None

    def has_next_temperature(self):
        return self.ctx.index < len(self.ctx.settings['temperatures'])

    def run_temperature(self):
        temperature = self.ctx.settings['temperatures'][self.ctx.index]
        self.ctx.start = self.ctx.step
        self.ctx.step += int(self.ctx.settings['steps_per_temperature'])
        self.node.base.extras.set('current_temperature', temperature)
        self.report(f'{temperature} K: steps {self.ctx.start} to {self.ctx.step}')
        label = f'npt_{_temperature_label(temperature)}'
        last = self.ctx.index == len(self.ctx.settings['temperatures']) - 1
        return self._submit_segment('npt', label, temperature=temperature, target_step=self.ctx.step, write_data=last,
                                    quench=last)

    def summarise(self):
        temperature = self.ctx.settings['temperatures'][self.ctx.index]
        thermo = self.ctx.segment.outputs.thermo
        summary = summarise_segment(thermo, orm.Dict({
            'temperature': temperature,
            'n_atoms': self.inputs.topology.base.attributes.get('n_atoms'),
            'start_step': self.ctx.start,
            'end_step': self.ctx.step,
            'equilibration_cut': int(self.ctx.settings['equilibration_cut']),
            'pressure': float(self.ctx.settings.get('pressure', 1.0)),
            'n_constraints': self.ctx.n_constraints,
        }))
        self.out(f'summaries.{_temperature_label(temperature)}', summary)
        self.ctx.thermos.append(thermo)
        self.node.base.extras.set('temperatures_done', self.ctx.index + 1)
        self.ctx.index += 1

    def finalise(self):
        self.out('thermo', ladder_series(
            orm.Dict({'temperatures': self.ctx.settings['temperatures'], 'thin_every': self.ctx.settings.get('thin_every', 1)}),
            **{f'thermo_{i}': thermo for i, thermo in enumerate(self.ctx.thermos)},
        ))
        if 'final_data' in self.ctx.segment.outputs:
            self.out('structure', final_structure(self.ctx.segment.outputs.final_data))
        if 'quenched_data' in self.ctx.segment.outputs:
            self.out('quenched_structure', final_structure(self.ctx.segment.outputs.quenched_data))
        self.node.base.extras.set('current_temperature', None)


def _validate_parameters(value, _):
    settings = value.get_dict()
    required = ('temperatures', 'steps_per_temperature', 'equilibration_steps', 'equilibration_cut', 'thermo_every',
                'restart_every', 'minimise')
    missing = [key for key in required if key not in settings]
    if missing:
        return f'missing ladder setting(s): {missing}'
    if not settings['temperatures']:
        return 'at least one temperature is needed'
    if settings['equilibration_cut'] >= settings['steps_per_temperature']:
        return 'the equilibration cut must be shorter than the steps per temperature'
    return None


def judged_configuration(ladder_outputs):
    """The configuration the octahedra check reads: the ladder's quenched last frame, or its last frame for a
    ladder run before the quench existed."""
    if 'quenched_structure' in ladder_outputs:
        return ladder_outputs.quenched_structure
    return ladder_outputs.structure
