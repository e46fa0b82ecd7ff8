"""Parser of :class:`~aiida_perovskite.calculations.parmchk2.Parmchk2Calculation`."""

from __future__ import annotations

from aiida import orm

from .base import AmberToolParser

#: What parmchk2 writes beside a parameter it did not find in the force field but made up.
ESTIMATED = ('same as', 'penalty score', 'Using the default value')


class Parmchk2Parser(AmberToolParser):
    """Outputs the frcmod; parameters parmchk2 could not even estimate are an error."""

    def parse(self, **kwargs):
        calculation = self.node.process_class
        frcmod = self.output_file(calculation.OUTPUT)
        if frcmod is None:
            return self.exit_codes.ERROR_OUTPUT_MISSING.format(
                message=self.tool_messages(calculation.STDOUT, calculation.STDERR)
            )
        with frcmod.open(mode='r') as handle:
            text = handle.read()
        lines = text.splitlines()
        unresolved = [line.strip() for line in lines if 'ATTN, need revision' in line]
        self.out('frcmod', frcmod)
        self.out('output_parameters', orm.Dict({
            # Estimated by analogy ("same as ..., penalty score") or filled with a default (impropers).
            'n_estimated': sum(any(mark in line for mark in ESTIMATED) for line in lines),
            'n_unresolved': len(unresolved),
        }))
        if unresolved:
            return self.exit_codes.ERROR_PARAMETERS_NOT_FOUND.format(message=' | '.join(unresolved[:10]))
        return None
