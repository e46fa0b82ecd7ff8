"""``StructureSearchWorkChain``: predict the crystal structure of a layered perovskite from its spacer's SMILES."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain

from aiida_perovskite.calculations.functions.search import (
    candidate_topology,
    classical_result,
    collect_energies,
    generate_search_candidates,
    mlip_energy,
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
    3. ``minimise``: every candidate minimised in LAMMPS with its cell free (``fix box/relax``), all
       submitted together; a candidate whose minimisation fails is reported and left out.
    4. ``select``: the relaxed candidates deduplicated (StructureMatcher, hydrogens stripped) and ranked by
       classical energy per formula unit; the lowest ``keep`` distinct ones go on.
    5. ``mlip``: those relaxed with MlipRelaxWorkChain (two stages: 1 GPa, then 0 GPa), together.
    6. ``rank``: the MLIP-relaxed structures deduplicated and ranked by MLIP energy per formula unit.
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
            cls.minimise,
            cls.select,
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
        spec.output('ranking', valid_type=orm.Dict, help='Distinct MLIP minima by energy: the prediction first.')
        declare(spec, 'ERROR_SEARCH_GENERATION', 'ERROR_SUB_PROCESS_FAILED_PARAMETRISE', 'ERROR_FORCEFIELD',
                'ERROR_NO_CANDIDATE_RELAXED')

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

    def minimise(self):
        node = self.ctx.parametrise
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_SUB_PROCESS_FAILED_PARAMETRISE.format(
                message=f'{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message}')
        template = node.outputs.topology
        parameter_set = ParameterSetData.get_or_create(template.base.attributes.get('parameter_set'))
        settings = orm.Dict({
            'cutoff': template.base.attributes.get('cutoff'),
            'kspace_accuracy': template.base.attributes.get('kspace_accuracy'),
            'heteroatom_policy': template.base.attributes.get('heteroatom_policy'),
            'charge_model': template.base.attributes.get('charge_model'),
        })
        minimise = self.inputs.minimise.get_dict()
        # The ladder protocol's segment settings (one definition of the time step, damping, output
        # frequency), with this search's minimiser, cell relaxation and pressure.
        ladder = TemperatureLadderWorkChain.get_protocol_inputs(TemperatureLadderWorkChain.get_default_protocol())
        ladder = {**ladder, 'minimise': {key: value for key, value in minimise.items() if key not in _SEGMENT_ONLY}}
        segment = segment_settings(
            ladder, template, 'minimise', target_step=0, thermo_every=10,
            barostat=minimise.get('box_relax') or 'tri', pressure=float(minimise.get('pressure', 1.0)),
            seed=1, shake=False, write_data=True, kspace_accuracy=template.base.attributes.get('kspace_accuracy'),
        )
        self.ctx.topologies = {}
        calculations = {}
        for key, structure in self.ctx.candidates.items():
            results, calc = candidate_topology.run_get_node(
                structure, orm.Dict(self.ctx.records[key]), node.outputs.prmtop, parameter_set, settings)
            if not calc.is_finished_ok:
                return self.exit_codes.ERROR_FORCEFIELD.format(message=f'candidate {key}: {calc.exit_message}')
            topology = results['topology']
            self.ctx.topologies[key] = topology
            inputs = {
                'lammps': {
                    'code': self.inputs.codes.lammps,
                    'topology': topology,
                    'parameters': orm.Dict(segment),
                    'metadata': {'options': dict(self.inputs.options) if 'options' in self.inputs else {}},
                },
                'max_iterations': self.inputs.max_iterations,
                'metadata': {'call_link_label': f'minimise_{key}', 'label': f'minimise {key}'},
            }
            calculations[f'minimise_{key}'] = self.submit(LammpsSegmentWorkChain, **inputs)
        self.report(f'spacer parametrised once (topology<{template.pk}>); minimising {len(calculations)} '
                    'candidates with the cell free')
        return ToContext(**calculations)

    def select(self):
        self.ctx.classical = {}
        energies = {}
        for key in self.ctx.candidates:
            node = self.ctx[f'minimise_{key}']
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
        self.ctx.kept = ranking['order'][:self.inputs.keep.value]
        self.report(f'{len(self.ctx.classical)} relaxed, {ranking["distinct"]} distinct; keeping {self.ctx.kept}')
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
