"""How a segment ended, decided from its log and settings (recorded logs of the 1,053-atom (BA)2PbI4 cell)."""

import pathlib

import numpy as np
import pytest

from aiida_perovskite.simulation.log import parse_log
from aiida_perovskite.simulation.outcome import OUTCOMES, segment_outcome, thermo_samples

LOGS = pathlib.Path(__file__).parent / 'logs'
#: The settings the recorded NPT segments ran with (their logs echo them).
NPT = {'stage': 'npt', 'target_step': 3000, 'thermo_every': 100, 'restart_every': 500}


def cut_after(text: str, step: int) -> str:
    """The log up to the thermo row of ``step`` and part of the next, as a kill leaves it."""
    lines = text.splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.split()[:1] == [str(step)])
    return ''.join(lines[: index + 1]) + lines[index + 1][:40]


def test_timed_out_segment_wrote_its_final_restart():
    outcome = segment_outcome(parse_log((LOGS / 'timeout.log').read_text()), {**NPT, 'timeout': 3})
    assert outcome.outcome == 'timed_out_with_restart'
    assert (outcome.start_step, outcome.end_step, outcome.steps_run) == (0, 450, 450)
    assert outcome.last_thermo_step == 400 and outcome.wrote_restart and not outcome.reached_target


def test_resumed_segment_finishes_and_drops_the_resume_row():
    log = parse_log((LOGS / 'resumed.log').read_text())
    outcome = segment_outcome(log, NPT)
    assert outcome.outcome == 'finished' and outcome.reached_target
    assert (outcome.start_step, outcome.end_step, outcome.steps_run) == (450, 3000, 2550)
    samples = log.rows[outcome.samples, 0]
    assert samples[0] == 500 and samples[-1] == 3000 and len(samples) == 26  # 450 was the resume point
    assert np.all(samples % 100 == 0)


def test_a_target_off_the_thermo_grid_is_kept():
    rows = np.array([[450.0], [500.0], [550.0], [600.0]])
    mask = thermo_samples(rows, {**NPT, 'target_step': 550, 'thermo_every': 100})
    assert rows[mask, 0].tolist() == [500.0, 550.0, 600.0]


def test_minimisation_keeps_every_row_and_runs_no_md_step():
    log = parse_log((LOGS / 'minimise.log').read_text())
    outcome = segment_outcome(log, {'stage': 'minimise', 'target_step': 0, 'thermo_every': 1000})
    assert outcome.outcome == 'finished' and outcome.steps_run == 0 and not outcome.wrote_restart
    assert outcome.samples.all() and len(log.rows) >= 2


@pytest.mark.parametrize(('step', 'expected'), [
    (1200, 'killed_with_restart'),  # restarts at 500 and 1000 were written after the start at 450
    (500, 'killed_with_restart'),  # the first periodic restart is on the row's step
    (450, 'killed_without_restart'),  # killed before the first one: only the parent's restart remains
])
def test_killed_segment_knows_whether_it_left_a_restart(step, expected):
    text = (LOGS / 'resumed.log').read_text()
    outcome = segment_outcome(parse_log(cut_after(text, step)), NPT)
    assert outcome.outcome == expected
    assert outcome.last_thermo_step == step and outcome.end_step is None and outcome.steps_run == 0
    assert outcome.wrote_restart is (expected == 'killed_with_restart')


@pytest.mark.parametrize(('error', 'expected'), [
    ('ERROR: Lost atoms: original 1053 current 1051 (src/thermo.cpp:494)', 'lost_atoms'),
    ('ERROR: Bond atoms 12 13 missing at step 700 (src/ntopo_bond_all.cpp:59)', 'lost_atoms'),
    ('ERROR: Out of range atoms - cannot compute PPPM (src/KSPACE/pppm.cpp:1960)', 'unstable'),
    ('ERROR: Unknown command: fix_modify bogus (src/input.cpp:314)', 'lammps_error'),
])
def test_errors_win_over_the_kill(error, expected):
    text = cut_after((LOGS / 'resumed.log').read_text(), 700) + f'\n{error}\n'
    outcome = segment_outcome(parse_log(text), NPT)
    assert outcome.outcome == expected and outcome.error == error
    assert outcome.wrote_restart  # the restart at 500 is there to retry from
    assert outcome.as_dict()['outcome'] == expected


def test_every_outcome_is_named():
    assert set(OUTCOMES) == {'finished', 'timed_out_with_restart', 'killed_with_restart', 'killed_without_restart',
                             'lost_atoms', 'unstable', 'lammps_error'}
