"""``ParametriseWorkChain``: CIF -> decomposition -> antechamber -> parmchk2 -> tleap -> LAMMPS topology."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain
from aiida.plugins import CalculationFactory

from aiida_perovskite.calculations.functions.decompose import decompose_cif
from aiida_perovskite.calculations.functions.topology import (
    extract_molecules,
    prepare_tleap_inputs,
    unique_molecules,
    write_lammps_topology,
)
from aiida_perovskite.common.exit_codes import STRUCTURE_EXIT_CODES, declare
from aiida_perovskite.data import ParameterSetData
from aiida_perovskite.forcefield import (
    ForceFieldError,
    MissingParametersError,
    parse_charge_model,
    resolve_parameter_set,
    validation_summary,
)
from aiida_perovskite.forcefield.amber import residue_name
from aiida_perovskite.workflows.protocols.utils import ProtocolMixin

AntechamberCalculation = CalculationFactory('perovskite.antechamber')
Parmchk2Calculation = CalculationFactory('perovskite.parmchk2')
TleapCalculation = CalculationFactory('perovskite.tleap')

#: What the ``lammps`` input must hold (a protocol's ``lammps`` section always does).
LAMMPS_SETTINGS = ('replication', 'cutoff', 'kspace_accuracy')


class ParametriseWorkChain(ProtocolMixin, WorkChain):
    """Parametrise a layered perovskite from its CIF into a LAMMPS system.

    Each unique organic molecule is typed and charged once (antechamber), its
    missing GAFF terms estimated once (parmchk2), and every copy in the cell is
    built from that template (tleap). Ions and organic-ion cross terms come
    from a versioned parameter set node; the topology records the set, the
    charge method, the atom types and every assumption the heteroatom policy made.

    The inputs have no defaults of their own: :meth:`get_builder_from_protocol` fills them from
    ``protocols/parametrise.yaml``.
    """

    _protocol_file = 'parametrise.yaml'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('cif', valid_type=orm.CifData, help='The crystal structure.')
        spec.input_namespace('codes', help='The AmberTools codes.')
        spec.input('codes.antechamber', valid_type=orm.AbstractCode)
        spec.input('codes.parmchk2', valid_type=orm.AbstractCode)
        spec.input('codes.tleap', valid_type=orm.AbstractCode)
        spec.input('charge_method', valid_type=orm.Str,
                   validator=_choice('bcc', 'gas'), help='AM1-BCC (bcc) or Gasteiger (gas) partial charges.')
        spec.input('charge_model', valid_type=orm.Str, validator=_charge_model,
                   help='Ion charges and the organic factor: formal (Pb +2, X -1; the method), myp (Pb +2.03, '
                        'I -1.13, spacers scaled to neutrality) or scaled:F (every charge times F).')
        spec.input('atom_types', valid_type=orm.Str, validator=_choice('gaff', 'gaff2'), help='GAFF or GAFF2.')
        spec.input('parameter_set', valid_type=orm.Str,
                   help='Name of the shipped ion/cross-term parameter set, auto (the first covering the '
                        'structure\'s inorganic elements whose validation against experimental cells holds; '
                        'unvalidated sets only by name) or a comma-separated preference '
                        'list such as "myp-pbi-uffi, auto" (the first that covers the structure).')
        spec.input('heteroatom_policy', valid_type=orm.Str, validator=_choice('heavy-as-cn', 'refuse'),
                   help='What to do with spacer atoms the parameter set has no cross terms for.')
        spec.input('lammps', valid_type=orm.Dict, validator=_lammps_settings,
                   help='replication ([a, b, c], "auto" or {in_plane: N, stacking: M}), cutoff (A), kspace_accuracy.')
        spec.input('decompose_parameters', valid_type=orm.Dict, required=False,
                   help='Bond tolerances of the decomposition.')
        spec.input('options', valid_type=dict, non_db=True, required=False,
                   help='metadata.options for every calculation (resources, walltime, queue...).')
        spec.outline(
            cls.decompose,
            cls.check_parameters,
            cls.run_antechamber,
            cls.inspect_antechamber,
            cls.run_parmchk2,
            cls.inspect_parmchk2,
            cls.run_tleap,
            cls.inspect_tleap,
            cls.write_topology,
        )
        spec.output('structure', valid_type=orm.StructureData, help='The cell with every molecule whole.')
        spec.output('decomposition', valid_type=orm.Dict, help='Spacers, charges, copies, layers.')
        spec.output('prmtop', valid_type=orm.SinglefileData, help='AMBER topology of the organic part (tleap).')
        spec.output('topology', help='The LAMMPS system (LammpsTopologyData).')
        # A bad structure finishes with decompose_cif's own 2xx code, forwarded by label.
        declare(spec, *(label for _, label in STRUCTURE_EXIT_CODES.values()), 'ERROR_MISSING_PARAMETERS',
                'ERROR_SUB_PROCESS_FAILED_ANTECHAMBER', 'ERROR_SUB_PROCESS_FAILED_PARMCHK2',
                'ERROR_SUB_PROCESS_FAILED_TLEAP', 'ERROR_SUB_PROCESS_FAILED_TOPOLOGY')

    @classmethod
    def get_builder_from_protocol(cls, codes: dict, cif: orm.CifData, protocol=None, overrides=None, options=None):
        """A builder with the force field and LAMMPS settings of ``protocol`` (``thesis``, ``screening``, ``fast``).

        :param codes: the AmberTools codes by tool name (others, such as ``lammps``, are ignored).
        :param overrides: inputs that replace the protocol's, e.g. ``{'charge_method': 'gas',
            'lammps': {'replication': [1, 1, 1]}}`` (merged key by key; a ``replication`` is replaced whole).
        :param options: ``metadata.options`` of every calculation (resources, wall-time, queue...).
        """
        inputs = cls.get_protocol_inputs(protocol, overrides)
        builder = cls.get_builder()
        builder.cif = cif
        builder.codes = {tool: codes[tool] for tool in ('antechamber', 'parmchk2', 'tleap')}
        for key in ('charge_method', 'charge_model', 'atom_types', 'parameter_set', 'heteroatom_policy'):
            builder[key] = orm.Str(inputs[key])
        builder.lammps = orm.Dict(inputs['lammps'])
        if 'decompose_parameters' in inputs:
            builder.decompose_parameters = orm.Dict(inputs['decompose_parameters'])
        if options:
            builder.options = options
        return builder

    def decompose(self):
        inputs = {'cif': self.inputs.cif}
        if 'decompose_parameters' in self.inputs:
            inputs['parameters'] = self.inputs.decompose_parameters
        results, node = decompose_cif.run_get_node(**inputs)
        if not node.is_finished_ok:
            label = next(
                (label for status, label in STRUCTURE_EXIT_CODES.values() if status == node.exit_status),
                'ERROR_INVALID_STRUCTURE',
            )
            return self.exit_codes[label].format(message=node.exit_message)
        self.ctx.structure = results['structure']
        self.ctx.decomposition = results['decomposition']
        self.out('structure', self.ctx.structure)
        self.out('decomposition', self.ctx.decomposition)
        self.ctx.molecules = {residue_name(i): m for i, m in enumerate(unique_molecules(self.ctx.decomposition))}
        self.report(
            f'{self.inputs.cif.filename}: {len(self.ctx.molecules)} unique molecule(s): '
            + ', '.join(f'{m["smiles"]} x{m["count"]}' for m in self.ctx.molecules.values())
        )

    def check_parameters(self):
        """Refuse before any tool runs if the parameter set cannot describe the structure."""
        record = self.ctx.decomposition.get_dict()
        sites = self.ctx.structure.sites
        inorganic = {self.ctx.structure.get_kind(sites[i].kind_name).symbol for i in record['inorganic_indices']}
        try:
            name = resolve_parameter_set(self.inputs.parameter_set.value, inorganic).name
            self.ctx.parameter_set = ParameterSetData.get_or_create(name)
            parameters = self.ctx.parameter_set.parameter_set
            parameters.check_elements(inorganic)
            parse_charge_model(self.inputs.charge_model.value).ion_charges(parameters, inorganic)
            if not parameters.verified:
                self.report(f'parameter set {name} has not passed validation against experimental cells '
                            f'({validation_summary(parameters.validation)}): used because it was named; '
                            'treat results as provisional')
            for molecule in self.ctx.molecules.values():
                for element, bonded_to in _atoms_with_partners(molecule):
                    for ion in inorganic:
                        parameters.ion_organic_pair(ion, element, bonded_to, self.inputs.heteroatom_policy.value)
        except (MissingParametersError, ForceFieldError) as error:
            return self.exit_codes.ERROR_MISSING_PARAMETERS.format(message=f'{self.inputs.cif.filename}: {error}')

    def run_antechamber(self):
        molecules = extract_molecules(self.ctx.structure, self.ctx.decomposition)
        calculations = {}
        for name, molecule in self.ctx.molecules.items():
            parameters = {
                'charge_method': self.inputs.charge_method.value,
                'atom_types': self.inputs.atom_types.value,
                'net_charge': molecule['charge'],
                'residue_name': name,
            }
            calculations[f'antechamber_{name}'] = self.submit(
                AntechamberCalculation,
                code=self.inputs.codes.antechamber,
                molecule=molecules[name],
                parameters=orm.Dict(parameters),
                metadata=self._metadata(f'antechamber_{name}', f'antechamber {name} {molecule["smiles"]}'),
            )
        return ToContext(**calculations)

    def inspect_antechamber(self):
        failed = self._inspect('antechamber', self.exit_codes.ERROR_SUB_PROCESS_FAILED_ANTECHAMBER)
        if failed:
            return failed
        for name, molecule in self.ctx.molecules.items():
            shortfall = self.ctx[f'antechamber_{name}'].outputs.output_parameters['charge_shortfall']
            if shortfall:
                self.report(f'{molecule["smiles"]}: Gasteiger charges miss {shortfall:+d} e of the formal charge '
                            '(an aromatic cation); spread evenly over the molecule. Use bcc for accurate charges.')
        return None

    def run_parmchk2(self):
        calculations = {}
        for name in self.ctx.molecules:
            calculations[f'parmchk2_{name}'] = self.submit(
                Parmchk2Calculation,
                code=self.inputs.codes.parmchk2,
                molecule=self.ctx[f'antechamber_{name}'].outputs.molecule,
                parameters=orm.Dict({'atom_types': self.inputs.atom_types.value}),
                metadata=self._metadata(f'parmchk2_{name}', f'parmchk2 {name}'),
            )
        return ToContext(**calculations)

    def inspect_parmchk2(self):
        return self._inspect('parmchk2', self.exit_codes.ERROR_SUB_PROCESS_FAILED_PARMCHK2)

    def run_tleap(self):
        typed = {name: self.ctx[f'antechamber_{name}'].outputs.molecule for name in self.ctx.molecules}
        prepared = prepare_tleap_inputs(self.ctx.structure, self.ctx.decomposition, **typed)
        calculation = self.submit(
            TleapCalculation,
            code=self.inputs.codes.tleap,
            molecules={name: prepared[name] for name in self.ctx.molecules},
            frcmods={name: self.ctx[f'parmchk2_{name}'].outputs.frcmod for name in self.ctx.molecules},
            pdb=prepared['pdb'],
            parameters=orm.Dict({'atom_types': self.inputs.atom_types.value}),
            metadata=self._metadata('tleap', 'tleap'),
        )
        return ToContext(tleap=calculation)

    def inspect_tleap(self):
        node = self.ctx.tleap
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_SUB_PROCESS_FAILED_TLEAP.format(
                message=f'tleap<{node.pk}> failed [{node.exit_status}]: {node.exit_message}'
            )
        self.out('prmtop', node.outputs.prmtop)

    def write_topology(self):
        settings = {
            **self.inputs.lammps.get_dict(),
            'heteroatom_policy': self.inputs.heteroatom_policy.value,
            'charge_method': self.inputs.charge_method.value,
            'charge_model': self.inputs.charge_model.value,
            'atom_types': self.inputs.atom_types.value,
        }
        results, node = write_lammps_topology.run_get_node(
            self.ctx.structure, self.ctx.decomposition, self.ctx.tleap.outputs.prmtop,
            self.ctx.tleap.outputs.inpcrd, self.ctx.parameter_set, orm.Dict(settings),
        )
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_SUB_PROCESS_FAILED_TOPOLOGY.format(message=node.exit_message)
        self.out('topology', results['topology'])
        topology = results['topology']
        self.report(f'topology<{topology.pk}>: {topology.base.attributes.get("n_atoms")} atoms, '
                    f'replication {topology.base.attributes.get("replication")}')

    def _inspect(self, tool: str, exit_code):
        for name, molecule in self.ctx.molecules.items():
            node = self.ctx[f'{tool}_{name}']
            if not node.is_finished_ok:
                return exit_code.format(
                    message=f'{tool}<{node.pk}> for {molecule["smiles"]} ({name}) failed '
                            f'[{node.exit_status}]: {node.exit_message}'
                )
        return None

    def _metadata(self, link: str, label: str) -> dict:
        metadata = {'label': label, 'call_link_label': link}
        if 'options' in self.inputs:
            metadata['options'] = dict(self.inputs.options)
        return metadata


def _choice(*allowed):
    def validate(value, _):
        if value.value not in allowed:
            return f'{value.value!r} is not one of {allowed}'
        return None

    return validate


def _lammps_settings(value, _):
    missing = [key for key in LAMMPS_SETTINGS if key not in value.get_dict()]
    return f'missing LAMMPS setting(s) {missing}' if missing else None


def _charge_model(value, _):
    try:
        parse_charge_model(value.value)
    except ForceFieldError as error:
        return str(error)
    return None


def _atoms_with_partners(molecule: dict):
    """``(element, bonded element for H)`` of each atom of a molecule record."""
    partner = {}
    for i, j, _ in molecule['bonds']:
        partner.setdefault(i, molecule['symbols'][j])
        partner.setdefault(j, molecule['symbols'][i])
    return {(symbol, partner.get(i) if symbol == 'H' else None) for i, symbol in enumerate(molecule['symbols'])}
