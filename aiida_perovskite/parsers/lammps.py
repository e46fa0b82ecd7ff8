"""Parser of :class:`~aiida_perovskite.calculations.lammps.LammpsSegmentCalculation`."""

from __future__ import annotations

import io

import numpy as np
from aiida import orm
from aiida.parsers import Parser

from aiida_perovskite.simulation.log import parse_log
from aiida_perovskite.simulation.script import FINAL_DATA, validate
from aiida_perovskite.simulation.summary import THERMO_COLUMNS


class LammpsSegmentParser(Parser):
    """Every thermo row, how far the segment got, and whether a restart can continue it.

    Outputs are attached before an exit code is returned, so an interrupted
    segment still contributes its thermo rows.
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

        settings = validate(self.node.inputs.parameters.get_dict())
        npt = settings['stage'] == 'npt'
        target = int(settings['target_step'])
        start = log.blocks[0][0] if log.blocks else log.rows[0, 0] if len(log.rows) else None
        end = log.end_step if log.completed else None
        steps_run = sum(steps for _, steps in log.blocks) if npt else 0

        rows = log.rows
        if npt and len(rows):
            # Keep the rows an uninterrupted run prints: the thermo grid and the segment's last
            # step. A continuation also prints the step it resumes at, which is not a sample.
            steps = rows[:, 0].astype(int)
            rows = rows[(steps % int(settings['thermo_every']) == 0) | (steps == target)]
        if len(rows) and len(log.columns) == len(THERMO_COLUMNS):
            thermo = orm.ArrayData()
            for index, name in enumerate(THERMO_COLUMNS):
                thermo.set_array(name, np.ascontiguousarray(rows[:, index]))
            self.out('thermo', thermo)
        if FINAL_DATA in self.retrieved.base.repository.list_object_names():
            content = self.retrieved.base.repository.get_object_content(FINAL_DATA, mode='rb')
            self.out('final_data', orm.SinglefileData(io.BytesIO(content), filename=FINAL_DATA))
        self.out('output_parameters', orm.Dict({
            'stage': settings['stage'],
            'target_step': target,
            'start_step': None if start is None else int(start),
            'end_step': end,
            'last_thermo_step': log.last_step,
            'steps_run': steps_run,
            'completed': log.completed,
            'reached_target': bool(log.completed and (not npt or end == target)),
            'steps_per_second': log.steps_per_second,
            'ns_per_day': log.ns_per_day,
            'error': log.error,
        }))

        if log.error_kind == 'lost_atoms':
            return self.exit_codes.ERROR_LOST_ATOMS.format(message=log.error)
        if log.error_kind == 'unstable':
            return self.exit_codes.ERROR_UNSTABLE.format(message=log.error)
        if log.error:
            return self.exit_codes.ERROR_LAMMPS.format(message=log.error)
        if not log.completed:
            last = log.last_step if log.last_step is not None else start
            # Periodic restarts are written every restart_every steps from the segment's start.
            wrote_restart = npt and last is not None and start is not None and (
                last // int(settings['restart_every'])) * int(settings['restart_every']) > start
            exit_code = self.exit_codes.ERROR_KILLED_WITH_RESTART if wrote_restart else self.exit_codes.ERROR_KILLED_WITHOUT_RESTART
            return exit_code.format(last=last, target=target)
        if npt and end != target:
            return self.exit_codes.ERROR_TIMEOUT_WITH_RESTART.format(end=end, target=target)
        return None

    def _stdout_tail(self) -> str:
        try:
            text = self.retrieved.base.repository.get_object_content(self.node.process_class._STDOUT, mode='r')
        except (FileNotFoundError, OSError):
            return 'no output at all'
        return ' | '.join(text.strip().splitlines()[-5:]) or 'empty output'
