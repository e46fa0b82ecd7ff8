"""``TleapCalculation``: the organic part of a cell assembled with GAFF into an AMBER prmtop."""

from __future__ import annotations

from aiida import orm

from aiida_perovskite.common.exit_codes import declare
from aiida_perovskite.forcefield.amber import tleap_script

from .base import AmberToolCalculation, merged


class TleapCalculation(AmberToolCalculation):
    """tleap: one unit per unique molecule (mol2 + frcmod) and a PDB with every copy of the cell.

    ``molecules`` and ``frcmods`` are keyed by residue name (``S01``...), the
    names the PDB uses. Parameters: ``atom_types`` ``gaff`` or ``gaff2``.
    """

    PDB = 'cell.pdb'
    SCRIPT = 'tleap.in'
    PRMTOP = 'cell.prmtop'
    INPCRD = 'cell.inpcrd'
    LOG = 'leap.log'
    DEFAULTS = {'atom_types': 'gaff'}

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input_namespace('molecules', valid_type=orm.SinglefileData, dynamic=True,
                             help='mol2 per unique molecule, keyed by residue name.')
        spec.input_namespace('frcmods', valid_type=orm.SinglefileData, dynamic=True,
                             help='frcmod per unique molecule, keyed by residue name.')
        spec.input('pdb', valid_type=orm.SinglefileData, help='Every molecule copy of the cell, one residue each.')
        spec.inputs['metadata']['options']['parser_name'].default = 'perovskite.tleap'
        spec.output('prmtop', valid_type=orm.SinglefileData, help='AMBER topology of the organic part.')
        spec.output('inpcrd', valid_type=orm.SinglefileData, help='Its coordinates.')
        spec.output('output_parameters', valid_type=orm.Dict, help='Atom count, errors and warnings.')
        spec.default_output_node = 'output_parameters'
        declare(spec, 'ERROR_TLEAP', 'ERROR_ATOM_COUNT')

    def settings(self) -> dict:
        settings = merged(self.inputs.get('parameters'), self.DEFAULTS, {'atom_types': ('gaff', 'gaff2')})
        if set(self.inputs.molecules) != set(self.inputs.frcmods):
            raise ValueError('molecules and frcmods must have the same residue names')
        return settings

    def write_inputs(self, folder, settings):
        units = []
        for name in sorted(self.inputs.molecules):
            self.copy_file(self.inputs.molecules[name], folder, f'{name}.mol2')
            self.copy_file(self.inputs.frcmods[name], folder, f'{name}.frcmod')
            units.append((name, f'{name}.mol2', f'{name}.frcmod'))
        self.copy_file(self.inputs.pdb, folder, self.PDB)
        with folder.open(self.SCRIPT, 'w') as handle:
            handle.write(tleap_script(units, self.PDB, settings['atom_types'], output='cell'))

    def command_line(self, settings):
        return ['-f', self.SCRIPT]

    def retrieved_files(self):
        return [self.PRMTOP, self.INPCRD, self.LOG, self.PDB]
