"""Parser of :class:`~aiida_perovskite.calculations.parmchk2.Parmchk2Calculation`."""

from __future__ import annotations

from aiida import orm

from .base import AmberToolParser


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
            'n_estimated': sum('same as' in line or 'penalty score' in line for line in lines),
            'n_unresolved': len(unresolved),
        }))
        if unresolved:
            return self.exit_codes.ERROR_PARAMETERS_NOT_FOUND.format(message=' | '.join(unresolved[:10]))
        return None
