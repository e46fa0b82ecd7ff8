"""``Parmchk2Calculation``: the GAFF parameters a typed molecule is missing, as a frcmod file."""

from __future__ import annotations

from aiida import orm

from aiida_perovskite.common.exit_codes import declare

from .base import AmberToolCalculation, merged


class Parmchk2Calculation(AmberToolCalculation):
    """parmchk2 on antechamber's mol2. Parameters: ``atom_types`` ``gaff`` or ``gaff2``."""

    INPUT = 'input.mol2'
    OUTPUT = 'parmchk2.frcmod'
    DEFAULTS = {'atom_types': 'gaff'}

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('molecule', valid_type=orm.SinglefileData, help='mol2 with GAFF atom types (antechamber).')
        spec.inputs['metadata']['options']['parser_name'].default = 'perovskite.parmchk2'
        spec.output('frcmod', valid_type=orm.SinglefileData, help='The missing parameters (frcmod).')
        spec.output('output_parameters', valid_type=orm.Dict, help='Counts of estimated parameters.')
        spec.default_output_node = 'output_parameters'
        declare(spec, 'ERROR_PARAMETERS_NOT_FOUND')

    def settings(self) -> dict:
        return merged(self.inputs.get('parameters'), self.DEFAULTS, {'atom_types': ('gaff', 'gaff2')})

    def write_inputs(self, folder, settings):
        self.copy_file(self.inputs.molecule, folder, self.INPUT)

    def command_line(self, settings):
        return ['-i', self.INPUT, '-f', 'mol2', '-o', self.OUTPUT, '-s', {'gaff': '1', 'gaff2': '2'}[settings['atom_types']]]

    def retrieved_files(self):
        return [self.OUTPUT]
