"""Parser of :class:`~aiida_perovskite.calculations.tleap.TleapCalculation`."""

from __future__ import annotations

import re

from aiida import orm

from .base import AmberToolParser

_SUMMARY = re.compile(r'Exiting LEaP: Errors = (\d+); Warnings = (\d+); Notes = (\d+)')


class TleapParser(AmberToolParser):
    """Outputs prmtop and inpcrd; errors in the log and atoms added or lost are failures."""

    def parse(self, **kwargs):
        calculation = self.node.process_class
        log = (self.read(calculation.STDOUT) or '') + '\n' + (self.read(calculation.LOG) or '')
        match = _SUMMARY.search(log)
        errors, warnings, notes = (int(value) for value in match.groups()) if match else (None, None, None)
        prmtop, inpcrd = self.output_file(calculation.PRMTOP), self.output_file(calculation.INPCRD)
        n_atoms = _prmtop_atom_count(prmtop) if prmtop is not None else None
        self.out('output_parameters', orm.Dict({'errors': errors, 'warnings': warnings, 'notes': notes,
                                                 'n_atoms': n_atoms}))
        if prmtop is not None and inpcrd is not None:
            self.out('prmtop', prmtop)
            self.out('inpcrd', inpcrd)
        messages = self.tool_messages(calculation.STDOUT, calculation.STDERR, keywords=('error', 'fatal'))
        if errors:
            return self.exit_codes.ERROR_TLEAP.format(errors=errors, message=messages)
        if prmtop is None or inpcrd is None:
            return self.exit_codes.ERROR_OUTPUT_MISSING.format(message=messages)
        expected = sum(line.startswith(('ATOM', 'HETATM')) for line in (self.read(calculation.PDB) or '').splitlines())
        if n_atoms != expected:
            return self.exit_codes.ERROR_ATOM_COUNT.format(found=n_atoms, expected=expected)
        return None


def _prmtop_atom_count(prmtop: orm.SinglefileData) -> int | None:
    """NATOM, the first value of the prmtop's POINTERS section."""
    with prmtop.open(mode='r') as handle:
        lines = handle.read().splitlines()
    for index, line in enumerate(lines):
        if line.startswith('%FLAG POINTERS'):
            return int(lines[index + 2].split()[0])
    return None
