"""The MLIP engine for real (CHGNet, SevenNet, D3 from their shipped weights) on a 25-atom (BDA)PbI4 cell."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from aiida_perovskite.builder import alkylammonium, layered_perovskite
from aiida_perovskite.mlip import load_potential, run_stages, validate_settings
from aiida_perovskite.mlip.relax import read_frames


@pytest.fixture(scope='module')
def cell():
    """(BDA)PbI4, Dion-Jacobson, ideal geometry: 25 atoms, about 0.15 s per CHGNet step on one core."""
    from pymatgen.io.ase import AseAtomsAdaptor

    return AseAtomsAdaptor.get_atoms(layered_perovskite(alkylammonium(4, diammonium=True), phase='DJ'))


@pytest.fixture(scope='module')
def chgnet():
    return load_potential('chgnet')


def energy_per_atom(atoms, calculator) -> float:
    atoms = atoms.copy()
    atoms.calc = calculator
    return atoms.get_potential_energy() / len(atoms)


def relax(cell, calculator, record, folder, **settings):
    return run_stages(cell, validate_settings(settings), folder, calculator, record)


def test_record_names_the_shipped_weights_and_their_hash(chgnet):
    _, record = chgnet
    path = pathlib.Path(record['weights_path'])
    assert path.is_file() and 'site-packages' in str(path) and path.name == record['weights_file']
    assert record['weights_sha256'] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record['package_version'] == importlib.metadata.version('chgnet') and record['dispersion'] is None
    _, with_d3 = load_potential('chgnet+d3', {'cutoff_bohr': 30.0})
    assert with_d3['dispersion']['damping'] == 'bj' and with_d3['dispersion']['functional'] == 'pbe'
    assert with_d3['dispersion']['cutoff_bohr'] == 30.0 and with_d3['dispersion']['cn_cutoff_bohr'] == 40.0
    with pytest.raises(ValueError, match='unknown potential'):
        load_potential('mace')


def test_potentials_load_and_run_without_network(cell, tmp_path):
    """With every socket connection refused, both potentials and D3 load from site-packages and compute."""
    cell.write(tmp_path / 'cell.extxyz')
    script = (
        'import socket, ase.io\n'
        'def refuse(*args, **kwargs): raise OSError("network use is forbidden in this test")\n'
        'socket.socket.connect = refuse; socket.create_connection = refuse\n'
        'from aiida_perovskite.mlip import load_potential\n'
        'atoms = ase.io.read("cell.extxyz")\n'
        'for name in ("chgnet+d3", "sevennet+d3"):\n'
        '    atoms.calc, record = load_potential(name)\n'
        '    print(name, atoms.get_potential_energy() / len(atoms), record["weights_sha256"])\n'
    )
    env = {**os.environ, 'HF_HUB_OFFLINE': '1', 'https_proxy': 'http://127.0.0.1:9', 'http_proxy': 'http://127.0.0.1:9'}
    result = subprocess.run([sys.executable, '-c', script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line.split() for line in result.stdout.splitlines() if line.endswith(tuple('0123456789abcdef'))]
    assert [line[0] for line in lines] == ['chgnet+d3', 'sevennet+d3']


def test_single_points_agree_and_d3_binds(cell, chgnet):
    """Both PBE-trained potentials give about -4.4 eV/atom on this cell; D3 lowers it by tens of meV/atom.

    Bounds a unit slip breaks: kcal/mol would read -100, kJ/mol -420, hartree -0.16, per cell -105.
    """
    calculator, _ = chgnet
    sevennet, record = load_potential('sevennet')
    assert record['package'] == 'sevenn' and record['model'] == '7net-0'
    e_chgnet, e_sevennet = energy_per_atom(cell, calculator), energy_per_atom(cell, sevennet)
    assert -5.5 < e_chgnet < -3.0 and -5.5 < e_sevennet < -3.0
    assert abs(e_chgnet - e_sevennet) < 0.15
    e_d3 = energy_per_atom(cell, load_potential('chgnet+d3')[0])
    assert -0.3 < e_d3 - e_chgnet < -0.01
    atoms = cell.copy()
    atoms.calc = calculator
    stress = atoms.get_stress() / 1e-3 * 0.1602176634  # eV/A^3 -> GPa, written out to catch a unit slip
    assert np.all(np.abs(stress) < 10) and np.abs(stress).max() > 0.05


def test_pressure_stage_gives_the_smaller_cell(cell, chgnet, tmp_path):
    """Six steps at 1 GPa end in a smaller cell than six at 0 GPa from the same start; energy goes down."""
    calculator, record = chgnet
    volumes = {}
    for pressure in (1.0, 0.0):
        folder = tmp_path / str(pressure)
        folder.mkdir()
        result = relax(cell, calculator, record, folder, max_steps=6,
                       stages=[{'name': 'only', 'kind': 'relax', 'pressure_gpa': pressure}])
        (stage,) = result['stages']
        assert stage['steps'] == stage['steps_this_run'] <= 6 and stage['frames'] == stage['steps'] + 1
        assert stage['energy_last_ev'] < stage['energy_first_ev']
        if stage['converged']:
            assert stage['max_force_ev_a'] < 0.05 and stage['max_stress_gpa'] < 0.05
        else:
            # Not converged only at the step limit: the optimiser's own criterion never ends a stage early.
            assert result['status'] == 'not_converged' and result['stage'] == 'only' and stage['steps'] == 6
        assert result['potential']['weights_sha256'] == record['weights_sha256']
        volumes[pressure] = stage['volume_last_a3']
    assert volumes[1.0] < volumes[0.0]
    assert 0.8 < volumes[1.0] / cell.get_volume() < 1.2


def test_restart_from_a_truncated_trajectory_continues_the_stage(cell, chgnet, tmp_path):
    from ase.io.trajectory import Trajectory

    calculator, record = chgnet
    first = relax(cell, calculator, record, tmp_path, max_steps=5)
    assert first['status'] == 'not_converged' and first['stage'] == 'compress' and len(first['stages']) == 1
    frames = read_frames(tmp_path / 'compress.traj')
    assert len(frames) == 6
    with Trajectory(str(tmp_path / 'compress.traj'), 'w') as trajectory:  # as if killed after step 3
        for frame in frames[:4]:
            trajectory.write(frame)

    second = relax(cell, calculator, record, tmp_path, max_steps=3)
    (stage,) = second['stages']
    assert stage['resumed'] and stage['steps_this_run'] == 3 and stage['steps'] == 6 and stage['frames'] == 7
    after = read_frames(tmp_path / 'compress.traj')
    for old, new in zip(frames[:4], after[:4]):  # the finished steps are kept, not redone
        assert np.allclose(old.positions, new.positions) and old.get_potential_energy() == new.get_potential_energy()
    assert stage['energy_first_ev'] == frames[0].get_potential_energy()
    # The optimiser's own state (FIRE's velocities) starts afresh: step 4 is redone from frame 3, not replayed.
    assert not np.allclose(after[4].positions, frames[3].positions)


def test_a_trajectory_cut_mid_frame_is_repaired_and_continued(cell, chgnet, tmp_path):
    """A kill while a frame was being written leaves a cut file: its complete frames are kept and continued."""
    calculator, record = chgnet
    relax(cell, calculator, record, tmp_path, max_steps=3)
    path = tmp_path / 'compress.traj'
    assert len(read_frames(path)) == 4
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1500])  # part of the last frame is lost
    kept = len(read_frames(path))
    assert 1 <= kept < 4
    again = relax(cell, calculator, record, tmp_path, max_steps=2)
    (stage,) = again['stages']
    assert stage['resumed'] and stage['frames'] == kept + 2 and len(read_frames(path)) == kept + 2


def test_finished_stages_are_skipped(cell, chgnet, tmp_path):
    calculator, record = chgnet
    loose = {'fmax': 5.0, 'stress_tolerance_gpa': 5.0}
    first = relax(cell, calculator, record, tmp_path, **loose)
    assert first['status'] == 'converged' and [s['name'] for s in first['stages']] == ['compress', 'relax']
    again = relax(cell, calculator, record, tmp_path, **loose)
    assert again['status'] == 'converged' and again['steps_this_run'] == 0
    assert all(stage['resumed'] and stage['steps_this_run'] == 0 for stage in again['stages'])


def test_a_runaway_volume_is_broken_physics(cell, chgnet, tmp_path):
    calculator, record = chgnet
    result = relax(cell, calculator, record, tmp_path, max_volume_change=0.002, max_steps=20)
    assert result['status'] == 'broken' and result['broken']['reason'] == 'volume_change'
    assert result['stage'] == 'compress' and 'volume changed by' in result['broken']['message']


def test_short_npt_runs_and_continues(cell, chgnet, tmp_path):
    from ase.io.trajectory import Trajectory

    calculator, record = chgnet
    stages = [{'name': 'md', 'kind': 'npt', 'temperature_k': 300.0, 'steps': 4, 'interval': 2}]
    result = relax(cell, calculator, record, tmp_path, stages=stages)
    (stage,) = result['stages']
    assert result['status'] == 'converged' and stage['steps'] == 4 and stage['frames'] == 3
    assert 50 < stage['temperature_last_k'] < 1000
    frames = read_frames(tmp_path / 'md.traj')
    with Trajectory(str(tmp_path / 'md.traj'), 'w') as trajectory:
        for frame in frames[:2]:
            trajectory.write(frame)
    again = relax(cell, calculator, record, tmp_path, stages=stages)
    assert again['stages'][0]['steps_this_run'] == 2 and again['stages'][0]['steps'] == 4


def test_settings_are_checked():
    with pytest.raises(ValueError, match='unknown setting'):
        validate_settings({'fmx': 0.1})
    with pytest.raises(ValueError, match='kind must be relax or npt'):
        validate_settings({'stages': [{'name': 'a', 'kind': 'nvt'}]})
    with pytest.raises(ValueError, match='distinct identifiers'):
        validate_settings({'stages': [{'name': 'a'}, {'name': 'a'}]})
    with pytest.raises(ValueError, match='multiple of the frame interval'):
        validate_settings({'stages': [{'name': 'md', 'kind': 'npt', 'steps': 5, 'interval': 2}]})
    assert validate_settings({})['stages'][0] == {'name': 'compress', 'kind': 'relax', 'pressure_gpa': 1.0}


def test_driver_command_line(cell, tmp_path):
    cell.write(tmp_path / 'structure.extxyz')
    (tmp_path / 'settings.json').write_text(json.dumps({'potential': 'sevennet', 'max_steps': 2}))
    command = [sys.executable, '-m', 'aiida_perovskite.mlip.driver', 'settings.json', 'structure.extxyz',
               '--log', 'optimizer.log']
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    document = json.loads((tmp_path / 'results.json').read_text())
    assert document['status'] == 'not_converged' and document['potential']['name'] == 'sevennet'
    assert len(document['forces_ev_a']) == len(cell) and (tmp_path / 'relaxed.extxyz').is_file()
    assert (tmp_path / 'compress.traj').is_file() and 'status not_converged' in result.stdout

    (tmp_path / 'settings.json').write_text(json.dumps({'potential': 'mace'}))
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2 and 'unknown potential' in result.stderr
