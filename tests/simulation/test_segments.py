"""Segment scripts and LAMMPS logs (recorded from real runs of the 1,053-atom (BA)2PbI4 3x3x3 cell)."""

import pathlib

import numpy as np
import pytest

from aiida_perovskite.simulation.log import parse_log
from aiida_perovskite.simulation.script import REQUIRED_SETTINGS, segment_script
from aiida_perovskite.simulation.summary import THERMO_COLUMNS, as_columns, merge_series, summarise_temperature
from aiida_perovskite.workflows.protocols.utils import protocol_inputs

LOGS = pathlib.Path(__file__).parent / 'logs'


def npt(**changes) -> dict:
    """A complete NPT segment at 300 K as the thesis protocol's ladder writes it, with ``changes``."""
    ladder = protocol_inputs('ladder.yaml', 'thesis')
    run = {key: ladder[key] for key in REQUIRED_SETTINGS if key in ladder}
    run['kspace_accuracy'] = protocol_inputs('parametrise.yaml', 'thesis')['lammps']['kspace_accuracy']  # the topology's
    return {**run, 'stage': 'npt', 'temperature': 300.0, **changes}


def test_scripts_continue_from_the_newest_restart():
    first = segment_script(npt(target_step=3000, create_velocities=True, timeout=100), False)
    assert 'include forcefield.lmp' in first and 'velocity all create 300.0' in first
    assert 'timer timeout 100 every 10' in first and 'run 3000 upto' in first
    assert 'timestep 1.0\n' in first and 'kspace_style pppm 1e-05\n' in first  # the method's, from the protocol
    assert 'fix integrate all npt temp 300.0 300.0 100.0 aniso 1.0 1.0 1000.0' in first
    assert first.index('kspace_style') > first.index('include forcefield.lmp')  # after read_data (triclinic)
    later = segment_script(npt(target_step=3000, shake=True), True)
    assert later.startswith('# One segment') and 'read_restart restart.*' in later
    assert 'include coefficients.lmp' in later  # restart files do not keep hybrid pair coefficients
    assert later.index('fix constrain all shake') < later.index('fix integrate all npt')  # LAMMPS 2025 order
    with pytest.raises(ValueError, match='unknown segment setting'):
        segment_script({'temprature': 300}, False)
    # The run's settings have no defaults of their own: a segment without them is refused, not guessed.
    for key in ('timestep', 'kspace_accuracy', 'temperature'):
        incomplete = {k: v for k, v in npt(target_step=100).items() if k != key}
        with pytest.raises(ValueError, match=f"missing segment setting.*'{key}'"):
            segment_script(incomplete, False)
    with pytest.raises(ValueError, match="missing segment setting.*'minimise'"):
        segment_script(npt(target_step=0, stage='minimise'), False)


def test_the_last_segment_quenches_its_final_frame_after_everything_else():
    script = segment_script(npt(target_step=3000, shake=True, write_data=True, quench=True, timeout=100), True)
    lines = script.splitlines()
    order = [lines.index(line) for line in ('run 3000 upto', 'write_restart restart.*', 'write_data final.data nocoeff',
                                            'log quench.log', 'restart 0', 'unfix integrate', 'unfix constrain',
                                            'write_data quenched.data nocoeff', 'log log.lammps append')]
    assert order == sorted(order)  # restart and final frame first; the minimiser's log and steps kept apart
    assert 'timer timeout off' in lines and any(line.startswith('minimize 0 0.01 500') for line in lines)
    plain = segment_script(npt(target_step=3000, write_data=True), True)
    assert 'quench' not in plain and 'minimize' not in plain
    with pytest.raises(ValueError, match='quench needs an npt segment that writes'):
        segment_script(npt(target_step=3000, quench=True), True)


def test_timed_out_segment():
    """timer timeout stopped the run at step 450 of 3,000; the last thermo row is at 400."""
    log = parse_log((LOGS / 'timeout.log').read_text())
    assert log.completed and log.error is None
    assert log.blocks == [(0, 450)] and log.end_step == 450 and log.last_step == 400
    assert log.steps_per_second == pytest.approx(149.738)


def test_resumed_segment_runs_only_the_remaining_steps():
    log = parse_log((LOGS / 'resumed.log').read_text())
    assert log.blocks == [(450, 2550)] and log.end_step == 3000
    thermo = as_columns(log.columns, log.rows)
    assert thermo['step'][0] == 450 and thermo['step'][-1] == 3000


def test_killed_and_failed_logs():
    text = (LOGS / 'resumed.log').read_text()
    killed = text[: text.index('Loop time')][:-200]  # cut part-way through a thermo row
    log = parse_log(killed)
    assert not log.completed and log.blocks == [] and log.last_step < 3000
    failed = parse_log(killed + '\nERROR: Lost atoms: original 1053 current 1051 (src/thermo.cpp:494)\n')
    assert failed.error_kind == 'lost_atoms'
    unstable = parse_log(killed + '\nERROR: Out of range atoms - cannot compute PPPM (src/KSPACE/pppm.cpp:1960)\n')
    assert unstable.error_kind == 'unstable'


def test_merge_keeps_each_step_once_and_prefers_the_later_attempt():
    def series(steps, value):
        return {name: np.array(steps, dtype=float) if name == 'step' else np.full(len(steps), value)
                for name in THERMO_COLUMNS}

    merged = merge_series([series([0, 100, 200, 300], 1.0), series([200, 300, 400], 2.0)])
    assert merged['step'].tolist() == [0, 100, 200, 300, 400]
    assert merged['pe'].tolist() == [1.0, 1.0, 2.0, 2.0, 2.0]


def test_summary_uses_samples_after_the_cut():
    steps = np.arange(0, 4001, 100, dtype=float)
    thermo = {name: np.ones_like(steps) for name in THERMO_COLUMNS}
    thermo.update(step=steps, pe=steps.copy(), vol=np.full_like(steps, 1000.0))
    record = summarise_temperature(thermo, n_atoms=10, start_step=2000, end_step=4000, equilibration_cut=400)
    assert record['n_samples'] == 16 and record['first_sample_step'] == 2500
    assert record['pe_per_atom_mean'] == pytest.approx(np.mean(np.arange(2500, 4001, 100)) / 10)
    assert record['volume_per_atom_mean'] == 100.0 and record['volume_per_atom_std'] == 0.0
