"""``AntechamberCalculation``: GAFF atom types and partial charges for one molecule."""

from __future__ import annotations

from aiida import orm

from aiida_perovskite.common.exit_codes import declare

from .base import AmberToolCalculation, merged


class AntechamberCalculation(AmberToolCalculation):
    """antechamber on one molecule (mol2 with our atom names, bonds and formal charges).

    Parameters: ``charge_method`` ``bcc`` (AM1-BCC through sqm, the default) or ``gas``
    (Gasteiger, fast); ``atom_types`` ``gaff`` or ``gaff2``; ``net_charge`` (integer,
    from the decomposition); ``residue_name``.
    """

    INPUT = 'input.mol2'
    OUTPUT = 'antechamber.mol2'
    DEFAULTS = {'charge_method': 'bcc', 'atom_types': 'gaff', 'net_charge': 0, 'residue_name': 'MOL'}

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('molecule', valid_type=orm.SinglefileData, help='The molecule as a Tripos mol2 file.')
        spec.inputs['metadata']['options']['parser_name'].default = 'perovskite.antechamber'
        spec.output('molecule', valid_type=orm.SinglefileData, help='mol2 with GAFF atom types and charges.')
        spec.output('output_parameters', valid_type=orm.Dict, help='Atom types, charge sum, warnings.')
        spec.default_output_node = 'output_parameters'
        declare(spec, 'ERROR_ATOM_TYPING', 'ERROR_CHARGES', 'ERROR_CHARGE_SUM')

    def settings(self) -> dict:
        settings = merged(self.inputs.get('parameters'), self.DEFAULTS,
                          {'charge_method': ('bcc', 'gas'), 'atom_types': ('gaff', 'gaff2')})
        settings['net_charge'] = int(settings['net_charge'])
        return settings

    def write_inputs(self, folder, settings):
        self.copy_file(self.inputs.molecule, folder, self.INPUT)

    def command_line(self, settings):
        return [
            '-i', self.INPUT, '-fi', 'mol2', '-o', self.OUTPUT, '-fo', 'mol2',
            '-c', settings['charge_method'], '-nc', str(settings['net_charge']),
            '-at', settings['atom_types'], '-rn', settings['residue_name'],
            '-pf', 'y',  # remove antechamber's intermediate files
            '-dr', 'no',  # our geometry is checked by the decomposition; its acdoctor is stricter than needed
        ]

    def retrieved_files(self):
        return [self.OUTPUT, 'sqm.out']
