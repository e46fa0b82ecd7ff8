"""How one segment ended, from its log and its settings: what a restart handler acts on.

The LAMMPS parser maps the :class:`SegmentOutcome` to nodes and an exit code;
every decision (which thermo rows are samples, where the segment started and
ended, whether it left a restart file of its own, and which of the outcomes in
:data:`OUTCOMES` it is) is taken here, in plain Python.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from aiida_perovskite.simulation.log import LogSummary

#: Every outcome, in the order they are decided (the first that applies wins).
OUTCOMES = (
    'lost_atoms',  # LAMMPS stopped: atoms (or bond partners) left the domain
    'unstable',  # LAMMPS stopped: out-of-range atoms, non-numeric pressure, SHAKE failed
    'lammps_error',  # any other ERROR line (a bad command or setting)
    'killed_with_restart',  # no end of the script, a periodic restart of its own was written
    'killed_without_restart',  # no end of the script, nothing of its own to resume from
    'timed_out_with_restart',  # ``timer timeout`` stopped it before the target; the final restart was written
    'finished',
)


@dataclasses.dataclass
class SegmentOutcome:
    """What a segment did, read from its log."""

    outcome: str  # one of OUTCOMES
    stage: str
    target_step: int
    start_step: int | None  # the first step of the segment's first run (None: it printed nothing)
    end_step: int | None  # the step its last finished run ended at (None: no run finished)
    last_thermo_step: int | None  # the last step with a thermo row
    steps_run: int  # MD steps of the finished runs (0 for a minimisation)
    wrote_restart: bool  # a restart file of its own is in its folder
    completed: bool  # the script ran to its end
    error: str | None  # LAMMPS's ERROR line
    samples: np.ndarray  # mask over the log's rows: the thermo samples an uninterrupted run prints

    @property
    def reached_target(self) -> bool:
        return self.outcome == 'finished'

    @property
    def last_step(self) -> int | None:
        """The last step known to have run (the last thermo row, else the start)."""
        return self.last_thermo_step if self.last_thermo_step is not None else self.start_step

    def as_dict(self) -> dict:
        """The record of the outcome (no thermo rows), for ``output_parameters``."""
        return {
            'outcome': self.outcome,
            'stage': self.stage,
            'target_step': self.target_step,
            'start_step': self.start_step,
            'end_step': self.end_step,
            'last_thermo_step': self.last_thermo_step,
            'steps_run': self.steps_run,
            'wrote_restart': self.wrote_restart,
            'completed': self.completed,
            'reached_target': self.reached_target,
            'error': self.error,
        }


def thermo_samples(rows: np.ndarray, settings: dict) -> np.ndarray:
    """Mask of the rows an uninterrupted run prints: the thermo grid and the segment's last step.

    A continuation also prints the step it resumes at, which is not a sample. A
    minimisation keeps every row.
    """
    if settings['stage'] != 'npt' or not len(rows):
        return np.ones(len(rows), dtype=bool)
    steps = rows[:, 0].astype(int)
    return (steps % int(settings['thermo_every']) == 0) | (steps == int(settings['target_step']))


#: The settings a segment's outcome depends on (an NPT segment's also on where it samples and restarts).
OUTCOME_SETTINGS = ('stage', 'target_step')
NPT_OUTCOME_SETTINGS = ('thermo_every', 'restart_every')


def segment_outcome(log: LogSummary, settings: dict) -> SegmentOutcome:
    """Decide how the segment of ``settings`` ended.

    :param log: the parsed ``log.lammps`` (:func:`~aiida_perovskite.simulation.log.parse_log`).
    :param settings: the segment's settings (:func:`~aiida_perovskite.simulation.script.validate`); only
        ``stage``, ``target_step`` and, for NPT, ``thermo_every`` and ``restart_every`` decide the outcome.
    """
    needed = OUTCOME_SETTINGS + (NPT_OUTCOME_SETTINGS if settings.get('stage') == 'npt' else ())
    missing = [key for key in needed if key not in settings]
    if missing:
        raise ValueError(f'the segment outcome needs the setting(s) {missing}')
    npt = settings['stage'] == 'npt'
    target = int(settings['target_step'])
    start = log.blocks[0][0] if log.blocks else int(log.rows[0, 0]) if len(log.rows) else None
    end = log.end_step if log.completed else None
    last = log.last_step if log.last_step is not None else start
    # Periodic restarts fall on multiples of restart_every; the one at the start step is the parent's.
    # A finished or timed-out npt run also writes a final restart.
    periodic = npt and last is not None and start is not None and (
        last // int(settings['restart_every'])) * int(settings['restart_every']) > start
    wrote_restart = bool(periodic or (npt and log.completed and not log.error))

    if log.error_kind == 'lost_atoms':
        outcome = 'lost_atoms'
    elif log.error_kind == 'unstable':
        outcome = 'unstable'
    elif log.error:
        outcome = 'lammps_error'
    elif not log.completed:
        outcome = 'killed_with_restart' if periodic else 'killed_without_restart'
    elif npt and end != target:
        outcome = 'timed_out_with_restart'
    else:
        outcome = 'finished'
    return SegmentOutcome(
        outcome=outcome,
        stage=settings['stage'],
        target_step=target,
        start_step=start,
        end_step=end,
        last_thermo_step=log.last_step,
        steps_run=sum(steps for _, steps in log.blocks) if npt else 0,
        wrote_restart=wrote_restart,
        completed=log.completed,
        error=log.error,
        samples=thermo_samples(log.rows, settings),
    )
