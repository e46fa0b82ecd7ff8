"""``StructureSearchWorkChain``: predict the crystal structure of a layered perovskite from its spacer's SMILES."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain, if_

from aiida_perovskite.calculations.functions.search import (
    candidate_topology,
    classical_result,
    collect_energies,
    generate_search_candidates,
    mlip_energy,
    preselection_ranking,
    rank_candidates,
    structure_to_cif,
)
from aiida_perovskite.common.exit_codes import declare
from aiida_perovskite.data import ParameterSetData
from aiida_perovskite.workflows.ladder import TemperatureLadderWorkChain, segment_settings
from aiida_perovskite.workflows.mlip import MlipRelaxWorkChain
from aiida_perovskite.workflows.parametrise import ParametriseWorkChain
from aiida_perovskite.workflows.protocols.utils import ProtocolMixin, recursive_merge
from aiida_perovskite.workflows.segment import LammpsSegmentWorkChain

#: Minimisation settings that are the segment's own rather than the minimiser's.
_SEGMENT_ONLY = ('pressure',)


class StructureSearchWorkChain(ProtocolMixin, WorkChain):
    """Random candidates, classical relaxation of all, MLIP relaxation of the lowest distinct ones, ranking.

    1. ``generate``: :func:`aiida_perovskite.search.generate_candidates` (seeded), each candidate a node.
    2. ``parametrise``: the spacer is typed, charged and given its GAFF terms once (ParametriseWorkChain on
       the first candidate); every candidate's LAMMPS system reuses that molecule (``candidate_topology``).
    3. ``anneal`` (when ``anneal`` has steps): every candidate runs a short NPT at ``anneal``'s temperature and
       pressure from its generated cell, so the spacers settle into packings a minimisation alone cannot
       reach (the generator leaves gaps a minimiser only shrinks); all submitted together.
    4. ``minimise``: every candidate minimised in LAMMPS with its cell free (``fix box/relax``), from its
       annealed state when there is one, all submitted together; a candidate whose anneal or
       minimisation fails is reported and left out.
    5. ``select``: the relaxed candidates deduplicated (StructureMatcher, hydrogens stripped) and ranked by
       classical energy per formula unit; the lowest ``keep`` distinct ones go on, unless ``preselect`` is
       ``mlip``: then every distinct classical minimum is labelled with the MLIP stage's potential (one
       ``MlipLabelCalculation``, energies at the classical geometry) and the ``keep`` lowest by that energy go on.
    6. ``mlip``: those relaxed with MlipRelaxWorkChain (two stages: 1 GPa, then 0 GPa), together.
    7. ``rank``: the MLIP-relaxed structures deduplicated and ranked by MLIP energy per formula unit.
    """

    _protocol_file = 'search.yaml'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('smiles', valid_type=orm.Str, help='The spacer (neutral amines are protonated).')
        spec.input('generator', valid_type=orm.Dict,
                   help='Candidate settings: phase, metal, halide, candidates, seed, formula_units... '
                        '(aiida_perovskite.search.DEFAULTS).')
        spec.input('keep', valid_type=orm.Int, help='Distinct candidates re-relaxed with the MLIP.')
        spec.input('parametrise', valid_type=orm.Dict,
                   help='protocol (of ParametriseWorkChain) and cutoff (A) of the one parametrisation.')
        spec.input('minimise', valid_type=orm.Dict, help='LAMMPS minimiser settings, box_relax, vmax, pressure (atm).')
        spec.input('anneal', valid_type=orm.Dict, required=False, validator=_validate_anneal,
                   help='NPT before the minimisation: temperature (K), pressure (atm), steps (1 fs each; 0: none).')
        spec.input('preselect', valid_type=orm.Str, required=False, validator=_validate_preselect,
                   help='What chooses the keep candidates among the distinct classical minima: classical (their '
                        'classical energy, the default) or mlip (the MLIP stage\'s potential at their geometry).')
        spec.input('mlip', valid_type=orm.Dict, help='protocol and parameters of MlipRelaxWorkChain.')
        spec.input('max_iterations', valid_type=orm.Int, help='Attempts per LAMMPS minimisation.')
        spec.input_namespace('codes', help='antechamber, parmchk2, tleap, lammps and mlip codes.')
        for tool in ('antechamber', 'parmchk2', 'tleap', 'lammps', 'mlip'):
            spec.input(f'codes.{tool}', valid_type=orm.AbstractCode)
        spec.input('options', valid_type=dict, non_db=True, required=False,
                   help='metadata.options of every LAMMPS and MLIP run.')
        spec.outline(
            cls.generate,
            cls.parametrise,
            cls.topologies,
            if_(cls.should_anneal)(
                cls.anneal,
            ),
            cls.minimise,
            cls.select,
            if_(cls.should_preselect)(
                cls.preselect,
                cls.choose,
            ),
            cls.relax_with_mlip,
            cls.rank,
        )
        spec.output_namespace('candidates', valid_type=orm.StructureData, dynamic=True,
                              help='Every generated candidate (c000, c001...).')
        spec.output('records', valid_type=orm.Dict, help='The choices that made each candidate.')
        spec.output_namespace('classical', valid_type=orm.StructureData, dynamic=True,
                              help='Each candidate after the classical minimisation.')
        spec.output_namespace('mlip', valid_type=orm.StructureData, dynamic=True,
                              help='The kept candidates after the MLIP relaxation.')
        spec.output_namespace('ranked', valid_type=orm.StructureData, dynamic=True,
                              help='The distinct MLIP-relaxed structures by rank (r01 lowest).')
        spec.output('energies', valid_type=orm.Dict,
                    help='Energy per formula unit (eV) of each candidate: classical and mlip.')
        spec.output('classical_ranking', valid_type=orm.Dict, help='Distinct classical minima by energy.')
        spec.output('preselection', valid_type=orm.Dict, required=False,
                    help='With preselect mlip: the distinct classical minima by MLIP energy at their geometry.')
        spec.output('ranking', valid_type=orm.Dict, help='Distinct MLIP minima by energy: the prediction first.')
        declare(spec, 'ERROR_SEARCH_GENERATION', 'ERROR_SUB_PROCESS_FAILED_PARAMETRISE', 'ERROR_FORCEFIELD',
                'ERROR_NO_CANDIDATE_RELAXED', 'ERROR_SUB_PROCESS_FAILED_PRESELECTION')

    @classmethod
    def get_builder_from_protocol(cls, codes: dict, smiles: str, phase: str = 'RP', metal: str = 'Pb',
                                  halide: str = 'I', protocol=None, overrides=None, options=None):
        """A builder with the settings of ``protocols/search.yaml``.

        :param codes: the codes by tool name (antechamber, parmchk2, tleap, lammps, mlip).
        :param overrides: e.g. ``{'generator': {'candidates': 20, 'seed': 3}, 'keep': 3,
            'mlip': {'parameters': {'potential': 'sevennet'}}}``, merged key by key.
        """
        inputs = recursive_merge(cls.get_protocol_inputs(protocol),
                                 {'generator': {'phase': phase, 'metal': metal, 'halide': halide}})
        inputs = recursive_merge(inputs, overrides or {})
        builder = cls.get_builder()
        builder.smiles = orm.Str(smiles)
        builder.codes = {tool: codes[tool] for tool in ('antechamber', 'parmchk2', 'tleap', 'lammps', 'mlip')}
        for key in ('generator', 'parametrise', 'minimise', 'mlip'):
            builder[key] = orm.Dict(inputs[key])
        if inputs.get('anneal'):
            builder.anneal = orm.Dict(inputs['anneal'])
        if inputs.get('preselect'):
            builder.preselect = orm.Str(inputs['preselect'])
        builder.keep = orm.Int(int(inputs['keep']))
        builder.max_iterations = orm.Int(int(inputs['max_iterations']))
        if options:
            builder.options = options
        return builder

    def generate(self):
        results, node = generate_search_candidates.run_get_node(self.inputs.smiles, self.inputs.generator)
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_SEARCH_GENERATION.format(message=node.exit_message)
        self.ctx.records = results.pop('records')
        self.ctx.candidates = dict(sorted(results.items()))
        self.out('records', self.ctx.records)
        for key, structure in self.ctx.candidates.items():
            self.out(f'candidates.{key}', structure)
        self.report(f'{len(self.ctx.candidates)} candidates generated')
        return None

    def parametrise(self):
        settings = self.inputs.parametrise.get_dict()
        first = next(iter(self.ctx.candidates.values()))
        overrides = {'lammps': {'replication': [1, 1, 1], 'cutoff': settings.get('cutoff', 10.0)}}
        builder = ParametriseWorkChain.get_builder_from_protocol(
            dict(self.inputs.codes), structure_to_cif(first), settings.get('protocol'), overrides,
            dict(self.inputs.options) if 'options' in self.inputs else None)
        builder.metadata = {'call_link_label': 'parametrise', 'label': 'parametrise the spacer once'}
        return ToContext(parametrise=self.submit(builder))

    def topologies(self):
        """Each candidate's LAMMPS system from the one parametrisation."""
        node = self.ctx.parametrise
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_SUB_PROCESS_FAILED_PARAMETRISE.format(
                message=f'{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message}')
        template = node.outputs.topology
        parameter_set = ParameterSetData.get_or_create(template.base.attributes.get('parameter_set'))
        settings = orm.Dict(topology_settings(template))
        self.ctx.topologies = {}
        for key, structure in self.ctx.candidates.items():
            results, calc = candidate_topology.run_get_node(
                structure, orm.Dict(self.ctx.records[key]), node.outputs.prmtop, parameter_set, settings)
            if not calc.is_finished_ok:
                return self.exit_codes.ERROR_FORCEFIELD.format(message=f'candidate {key}: {calc.exit_message}')
            self.ctx.topologies[key] = results['topology']
        self.report(f'spacer parametrised once (topology<{template.pk}>); a LAMMPS system for each of '
                    f'{len(self.ctx.topologies)} candidates')
        return None

    def _segment(self, key: str, stage: str, parameters: dict, parent=None) -> dict:
        """The inputs of one candidate's LAMMPS segment (from its topology, or continuing ``parent``)."""
        lammps = {
            'code': self.inputs.codes.lammps,
            'topology': self.ctx.topologies[key],
            'parameters': orm.Dict(parameters),
            'metadata': {'options': dict(self.inputs.options) if 'options' in self.inputs else {}},
        }
        if parent is not None:
            lammps['parent_folder'] = parent
        return {'lammps': lammps, 'max_iterations': self.inputs.max_iterations,
                'metadata': {'call_link_label': f'{stage}_{key}', 'label': f'{stage} {key}'}}

    def should_anneal(self) -> bool:
        return 'anneal' in self.inputs and int(self.inputs.anneal.get('steps', 0)) > 0

    def anneal(self):
        settings = self.inputs.anneal.get_dict()
        steps = int(settings['steps'])
        calculations = {}
        for index, key in enumerate(self.ctx.candidates):
            # Each candidate its own velocities; the generator's seed makes the whole search reproducible.
            seed = 1 + index + 1000 * int(self.inputs.generator.get('seed', 0))
            segment = anneal_segment(settings, self.inputs.minimise.get_dict(), self.ctx.topologies[key], seed)
            calculations[f'anneal_{key}'] = self.submit(LammpsSegmentWorkChain, **self._segment(key, 'anneal', segment))
        self.report(f'annealing {len(calculations)} candidates: {steps} steps of NPT at {settings["temperature"]} K '
                    f'and {settings["pressure"]} atm')
        return ToContext(**calculations)

    def minimise(self):
        minimise = self.inputs.minimise.get_dict()
        calculations = {}
        for key, topology in self.ctx.topologies.items():
            parent = None
            if self.should_anneal():
                node = self.ctx[f'anneal_{key}']
                if not node.is_finished_ok or 'remote_folder' not in node.outputs:
                    self.report(f'candidate {key}: anneal {node.process_label}<{node.pk}> failed '
                                f'[{node.exit_status}] {node.exit_message}; left out')
                    continue
                parent = node.outputs.remote_folder
            segment = minimise_segment(minimise, topology)
            calculations[f'minimise_{key}'] = self.submit(LammpsSegmentWorkChain,
                                                          **self._segment(key, 'minimise', segment, parent))
        if not calculations:
            return self.exit_codes.ERROR_NO_CANDIDATE_RELAXED.format(stage='anneal', message='every one failed')
        self.report(f'minimising {len(calculations)} candidates with the cell free')
        return ToContext(**calculations)

    def select(self):
        self.ctx.classical = {}
        energies = {}
        for key in self.ctx.candidates:
            node = self.ctx.get(f'minimise_{key}')
            if node is None:
                continue  # its anneal failed (reported)
            if not node.is_finished_ok or 'final_data' not in node.outputs:
                self.report(f'candidate {key}: minimisation {node.process_label}<{node.pk}> failed '
                            f'[{node.exit_status}] {node.exit_message}; left out')
                continue
            record = {'formula_units': self.ctx.records[key]['formula_units'],
                      'site_order': self.ctx.topologies[key].base.attributes.get('site_order')}
            result = classical_result(node.outputs.final_data, node.outputs.thermo, orm.Dict(record))
            self.ctx.classical[key] = result
            energies[key] = result['energy']
            self.out(f'classical.{key}', result['structure'])
        if not self.ctx.classical:
            return self.exit_codes.ERROR_NO_CANDIDATE_RELAXED.format(stage='classical', message='every one failed')
        nodes = {}
        for key, result in self.ctx.classical.items():
            nodes[f'structure_{key}'] = result['structure']
            nodes[f'energy_{key}'] = result['energy']
        ranking = rank_candidates(orm.Dict({}), **nodes)
        self.out('classical_ranking', ranking)
        self.ctx.classical_energies = energies
        self.ctx.classical_ranking = ranking
        self.ctx.kept = ranking['order'][:self.inputs.keep.value]
        self.report(f'{len(self.ctx.classical)} relaxed, {ranking["distinct"]} distinct'
                    + ('' if self.should_preselect() else f'; keeping {self.ctx.kept}'))
        return None

    def should_preselect(self) -> bool:
        return 'preselect' in self.inputs and self.inputs.preselect.value == 'mlip'

    def preselect(self):
        """Every distinct classical minimum labelled by the MLIP stage's potential, in one calculation."""
        from aiida_perovskite.calculations.mlip import MlipLabelCalculation
        from aiida_perovskite.data.configurations import ConfigurationSetData
        from aiida_perovskite.mlip.relax import validate_settings

        driver = validate_settings(self.inputs.mlip.get_dict().get('parameters', {}))
        frames = []
        for key in self.ctx.classical_ranking['order']:
            atoms = self.ctx.classical[key]['structure'].get_ase()
            atoms.info['origin'] = {'candidate': key, 'formula_units': int(self.ctx.records[key]['formula_units']),
                                    'structure_uuid': self.ctx.classical[key]['structure'].uuid}
            frames.append(atoms)
        inputs = {
            'code': self.inputs.codes.mlip,
            'configurations': ConfigurationSetData.from_atoms(frames),
            'parameters': orm.Dict({key: driver[key] for key in ('potential', 'dispersion', 'device')}),
            'metadata': {'call_link_label': 'preselect', 'label': 'MLIP energies of the classical minima',
                         'options': dict(self.inputs.options) if 'options' in self.inputs else {}},
        }
        self.report(f'labelling the {len(frames)} distinct classical minima with {driver["potential"]}')
        return ToContext(preselect=self.submit(MlipLabelCalculation, **inputs))

    def choose(self):
        node = self.ctx.preselect
        if 'configurations' not in node.outputs:
            return self.exit_codes.ERROR_SUB_PROCESS_FAILED_PRESELECTION.format(
                message=f'{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message}')
        if not node.is_finished_ok:  # some configurations failed: the others are ranked, the failure reported
            self.report(f'{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message}; ranking the rest')
        selection = preselection_ranking(node.outputs.configurations)
        self.out('preselection', selection)
        self.ctx.kept = selection['order'][:self.inputs.keep.value]
        self.report(f'keeping {self.ctx.kept}, the lowest by MLIP energy at the classical geometry')
        return None

    def relax_with_mlip(self):
        settings = self.inputs.mlip.get_dict()
        calculations = {}
        for key in self.ctx.kept:
            builder = MlipRelaxWorkChain.get_builder_from_protocol(
                self.inputs.codes.mlip, self.ctx.classical[key]['structure'], settings.get('protocol'),
                {'parameters': settings.get('parameters', {})},
                dict(self.inputs.options) if 'options' in self.inputs else None)
            builder.metadata = {'call_link_label': f'mlip_{key}', 'label': f'mlip {key}'}
            calculations[f'mlip_{key}'] = self.submit(builder)
        return ToContext(**calculations)

    def rank(self):
        nodes, mlip = {}, {}
        for key in self.ctx.kept:
            node = self.ctx[f'mlip_{key}']
            if not node.is_finished_ok or 'structure' not in node.outputs:
                self.report(f'candidate {key}: MLIP relaxation {node.process_label}<{node.pk}> failed '
                            f'[{node.exit_status}] {node.exit_message}; left out')
                continue
            units = orm.Int(int(self.ctx.records[key]['formula_units']))
            energy = mlip_energy(node.outputs.output_parameters, units)
            mlip[key] = energy
            nodes[f'structure_{key}'] = node.outputs.structure
            nodes[f'energy_{key}'] = energy
            self.out(f'mlip.{key}', node.outputs.structure)
        if not nodes:
            return self.exit_codes.ERROR_NO_CANDIDATE_RELAXED.format(stage='MLIP', message='every one failed')
        ranking = rank_candidates(orm.Dict({}), **nodes)
        self.out('ranking', ranking)
        for position, key in enumerate(ranking['order'], start=1):
            self.out(f'ranked.r{position:02d}', nodes[f'structure_{key}'])
        self.out('energies', collect_energies(**{f'classical_{key}': node for key, node in self.ctx.classical_energies.items()},
                                              **{f'mlip_{key}': node for key, node in mlip.items()}))
        best = ranking['order'][0]
        self.report(f'prediction: candidate {best} at {ranking["energies"][best]:.4f} eV per formula unit'
                    + (f', {ranking["gap_to_next"] * 1000:.1f} meV below the next distinct structure'
                       if ranking['gap_to_next'] is not None else ''))
        return None


def _ladder_settings(minimise: dict) -> dict:
    # The ladder protocol's segment settings (one definition of the time step, damping, output
    # frequency), with this search's minimiser, cell relaxation and pressure.
    ladder = TemperatureLadderWorkChain.get_protocol_inputs(TemperatureLadderWorkChain.get_default_protocol())
    return {**ladder, 'minimise': {key: value for key, value in minimise.items() if key not in _SEGMENT_ONLY}}


def topology_settings(template) -> dict:
    """What every candidate's LAMMPS system takes from the one parametrised topology (``candidate_topology``'s
    ``settings``)."""
    return {key: template.base.attributes.get(key) for key in ('cutoff', 'kspace_accuracy', 'heteroatom_policy',
                                                                'charge_model')}


def minimise_segment(minimise: dict, topology) -> dict:
    """The settings of a candidate's cell-free minimisation (``minimise``: the search's input)."""
    return segment_settings(
        _ladder_settings(minimise), topology, 'minimise', target_step=0, thermo_every=10,
        barostat=minimise.get('box_relax') or 'tri', pressure=float(minimise.get('pressure', 1.0)),
        seed=1, shake=False, write_data=True, kspace_accuracy=topology.base.attributes.get('kspace_accuracy'),
    )


def anneal_segment(anneal: dict, minimise: dict, topology, seed: int) -> dict:
    """The settings of a candidate's anneal: NPT (triclinic cell) from fresh velocities (``anneal``: the search's input)."""
    steps = int(anneal['steps'])
    return segment_settings(
        _ladder_settings(minimise), topology, 'npt', target_step=steps, temperature=float(anneal['temperature']),
        pressure=float(anneal['pressure']), barostat='tri', create_velocities=True, seed=seed, shake=False,
        thermo_every=max(1, steps // 20), restart_every=steps, kspace_accuracy=topology.base.attributes.get('kspace_accuracy'),
    )


def _validate_preselect(value, _):
    if value is not None and value.value not in ('classical', 'mlip'):
        return f'preselect must be classical or mlip, not {value.value!r}'
    return None


def _validate_anneal(value, _):
    if value is None:
        return None
    settings = value.get_dict()
    unknown = sorted(set(settings) - {'temperature', 'pressure', 'steps'})
    if unknown:
        return f'unknown anneal setting(s) {unknown}; known: pressure, steps, temperature'
    if int(settings.get('steps', 0)) < 0:
        return f'anneal steps must be 0 or more, not {settings["steps"]}'
    if int(settings.get('steps', 0)) > 0:
        missing = [key for key in ('temperature', 'pressure') if key not in settings]
        if missing:
            return f'anneal needs {missing} when it has steps'
        if float(settings['temperature']) <= 0:
            return f'anneal temperature must be positive, not {settings["temperature"]}'
    return None
