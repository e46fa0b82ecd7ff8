"""Parser of :class:`~aiida_perovskite.calculations.lammps.LammpsSegmentCalculation`."""

from __future__ import annotations

import io

import numpy as np
from aiida import orm
from aiida.parsers import Parser

from aiida_perovskite.simulation.log import parse_log
from aiida_perovskite.simulation.outcome import segment_outcome
from aiida_perovskite.simulation.script import FINAL_DATA, QUENCHED_DATA
from aiida_perovskite.simulation.summary import THERMO_COLUMNS

#: Exit code of each segment outcome (see ``simulation.outcome.OUTCOMES``); ``None``: success.
OUTCOME_EXIT_CODES = {
    'finished': None,
    'timed_out_with_restart': 'ERROR_TIMEOUT_WITH_RESTART',
    'killed_with_restart': 'ERROR_KILLED_WITH_RESTART',
    'killed_without_restart': 'ERROR_KILLED_WITHOUT_RESTART',
    'lost_atoms': 'ERROR_LOST_ATOMS',
    'unstable': 'ERROR_UNSTABLE',
    'lammps_error': 'ERROR_LAMMPS',
}


class LammpsSegmentParser(Parser):
    """The thermo samples, how far the segment got, and whether a restart can continue it.

    The decisions are :func:`~aiida_perovskite.simulation.outcome.segment_outcome`'s; this maps
    them to nodes and an exit code. Outputs are attached before an exit code is returned, so an
    interrupted segment still contributes its thermo rows.
    """

    def parse(self, **kwargs):
        calculation = self.node.process_class
        try:
            text = self.retrieved.base.repository.get_object_content(calculation.LOG, mode='r')
        except (FileNotFoundError, OSError):
            return self.exit_codes.ERROR_LOG_MISSING.format(message=self._stdout_tail())
        try:
            log = parse_log(text)
        except ValueError as error:
            return self.exit_codes.ERROR_THERMO_PARSING.format(message=str(error))
        outcome = segment_outcome(log, self.node.inputs.parameters.get_dict())

        rows = log.rows[outcome.samples]
        if len(rows) and len(log.columns) == len(THERMO_COLUMNS):
            thermo = orm.ArrayData()
            for index, name in enumerate(THERMO_COLUMNS):
                thermo.set_array(name, np.ascontiguousarray(rows[:, index]))
            self.out('thermo', thermo)
        retrieved = self.retrieved.base.repository.list_object_names()
        for name, label in ((FINAL_DATA, 'final_data'), (QUENCHED_DATA, 'quenched_data')):
            if name in retrieved:
                content = self.retrieved.base.repository.get_object_content(name, mode='rb')
                self.out(label, orm.SinglefileData(io.BytesIO(content), filename=name))
        self.out('output_parameters', orm.Dict({
            **outcome.as_dict(),
            'steps_per_second': log.steps_per_second,
            'ns_per_day': log.ns_per_day,
        }))

        label = OUTCOME_EXIT_CODES[outcome.outcome]
        if label is None:
            return None
        return self.exit_codes[label].format(
            message=outcome.error, end=outcome.end_step, last=outcome.last_step, target=outcome.target_step
        )

    def _stdout_tail(self) -> str:
        try:
            text = self.retrieved.base.repository.get_object_content(self.node.process_class.STDOUT, mode='r')
        except (FileNotFoundError, OSError):
            return 'no output at all'
        return ' | '.join(text.strip().splitlines()[-5:]) or 'empty output'
