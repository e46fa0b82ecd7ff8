"""Parser of :class:`~aiida_perovskite.calculations.antechamber.AntechamberCalculation`."""

from __future__ import annotations

from aiida import orm

from aiida_perovskite.forcefield.amber import read_mol2_charges

from .base import AmberToolParser


class AntechamberParser(AmberToolParser):
    """Outputs the typed mol2 and a summary; tells typing failures from charge failures."""

    def parse(self, **kwargs):
        calculation = self.node.process_class
        settings = {**calculation.DEFAULTS, **(self.node.inputs.parameters.get_dict() if 'parameters' in self.node.inputs else {})}
        molecule = self.output_file(calculation.OUTPUT)
        messages = self.tool_messages(calculation.STDOUT, calculation.STDERR)
        if molecule is None:
            sqm = self.read('sqm.out')
            if settings['charge_method'] == 'bcc' and ('sqm' in messages.lower() or (sqm and 'error' in sqm.lower())):
                detail = messages + (' | sqm: ' + self.tool_messages('sqm.out') if sqm else '')
                return self.exit_codes.ERROR_CHARGES.format(message=detail)
            if 'type' in messages.lower():
                return self.exit_codes.ERROR_ATOM_TYPING.format(message=messages)
            return self.exit_codes.ERROR_OUTPUT_MISSING.format(message=messages)

        with molecule.open(mode='r') as handle:
            text = handle.read()
        charges = read_mol2_charges(text)
        if not charges:
            # An input it cannot read makes antechamber (with Gasteiger charges) write a mol2 without
            # atoms and exit 0; the net charge it then misses by is a whole number, not a shortfall.
            return self.exit_codes.ERROR_OUTPUT_MISSING.format(message=f'the mol2 has no atoms; {messages}')
        types = sorted({line.split()[5] for line in _atom_lines(text)})
        shortfall = settings['net_charge'] - sum(charges)
        # antechamber's Gasteiger charges do not see the + of an aromatic cation (azolium,
        # pyridinium): they sum to one less than the formal charge. The fast option keeps them and
        # the shortfall is spread evenly later (recorded here); AM1-BCC must match.
        tolerated = settings['charge_method'] == 'gas' and abs(shortfall - round(shortfall)) < 0.01
        self.out('molecule', molecule)
        self.out('output_parameters', orm.Dict({
            'n_atoms': len(charges),
            'atom_types': types,
            'charge_sum': sum(charges),
            'charge_method': settings['charge_method'],
            'charge_shortfall': round(shortfall) if tolerated else 0,
            'warnings': [line.strip() for line in (self.read(calculation.STDOUT) or '').splitlines()
                         if 'warning' in line.lower()],
        }))
        # An element antechamber has no GAFF type for comes back as its symbol or "DU".
        untyped = [t for t in types if t == 'DU' or t[0].isupper()]
        if untyped:
            return self.exit_codes.ERROR_ATOM_TYPING.format(message=f'atoms left untyped: {untyped}; {messages}')
        if abs(shortfall) > 0.01 and not tolerated:
            return self.exit_codes.ERROR_CHARGE_SUM.format(total=sum(charges), expected=settings['net_charge'])
        return None


def _atom_lines(text: str):
    inside = False
    for line in text.splitlines():
        if line.startswith('@<TRIPOS>'):
            inside = line.strip() == '@<TRIPOS>ATOM'
        elif inside and line.strip():
            yield line
