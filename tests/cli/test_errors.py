"""An unknown profile, computer or model is a one-line error with exit status 1, never a traceback."""

import pytest
from click.testing import CliRunner

from aiida_perovskite.cli import cmd_root


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert 'Traceback' not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('Error: '), result.output
    return lines[0]


@pytest.mark.parametrize('arguments', [
    ['status'],
    ['dataset', '--group', 'g'],
    ['train', '--group', 'g', '--target', 'cp_u'],
    ['screen', 'x.cif', '--model', '1'],
    ['report', '--group', 'g'],
    ['export', '--group', 'g', 'out.aiida'],
    ['graph', '--model', '1', '-o', 'out.svg'],
    ['run', 'x.cif'],
    ['validate', 'x.cif'],
    ['build', '--name', 'BA', '-o', 'ba.cif'],
], ids=lambda arguments: arguments[0])
def test_unknown_profile(aiida_profile, tmp_path, monkeypatch, arguments):
    monkeypatch.chdir(tmp_path)
    line = one_line_error(CliRunner().invoke(cmd_root, [*arguments, '--profile', 'no-such-profile']))
    assert "profile 'no-such-profile' does not exist; `verdi profile list` shows the existing ones" in line
    assert not (tmp_path / 'ba.cif').exists()


def test_unknown_profile_of_parametrise(aiida_profile, tmp_path, butylammonium_rp):
    cif = tmp_path / 'ba.cif'
    butylammonium_rp.to(filename=str(cif))
    line = one_line_error(CliRunner().invoke(cmd_root, ['parametrise', str(cif), '--profile', 'no-such-profile']))
    assert "profile 'no-such-profile' does not exist" in line


@pytest.mark.parametrize('command', ['run', 'validate', 'parametrise'])
def test_unknown_computer(aiida_profile, aiida_localhost, tmp_path, butylammonium_rp, command):
    from aiida_perovskite.tools.codes import register_local_codes

    register_local_codes(aiida_localhost)  # codes exist, but not on the computer asked for
    cif = tmp_path / 'ba.cif'
    butylammonium_rp.to(filename=str(cif))
    line = one_line_error(CliRunner().invoke(cmd_root, [command, str(cif), '--computer', 'no-such-computer',
                                                        '--profile', aiida_profile.name]))
    assert "computer 'no-such-computer' does not exist; `verdi computer list` shows the existing ones" in line


@pytest.mark.parametrize('arguments', [['screen', 'x.cif'], ['graph', '-o', 'out.svg']], ids=['screen', 'graph'])
def test_unknown_model_label(aiida_profile, tmp_path, monkeypatch, arguments):
    monkeypatch.chdir(tmp_path)
    line = one_line_error(CliRunner().invoke(cmd_root, [*arguments, '--model', 'nowhere/cp_u/ridge',
                                                        '--profile', aiida_profile.name]))
    assert "model 'nowhere/cp_u/ridge' does not exist" in line and 'aiida-perovskite report --group' in line


def test_a_node_that_is_not_a_model(aiida_profile, tmp_path):
    from aiida import orm

    node = orm.Int(1).store()
    line = one_line_error(CliRunner().invoke(cmd_root, ['screen', str(tmp_path / 'x.cif'), '--model', str(node.pk),
                                                        '--profile', aiida_profile.name]))
    assert line == f'Error: node {node.pk} is a Int, not a TrainedModelData'


def test_no_configuration_at_all(tmp_path):
    """A fresh machine: no AiiDA configuration, no default profile (a fresh process with its own AIIDA_PATH)."""
    import os
    import subprocess
    import sys

    script = [sys.executable, '-c', 'from aiida_perovskite.cli import cmd_root; cmd_root()']
    environment = {**os.environ, 'AIIDA_PATH': str(tmp_path)}
    for arguments, message in ((['status'], 'Error: no AiiDA profile to load ('),
                               (['status', '--profile', 'x'], "Error: profile 'x' does not exist; `verdi profile list`")):
        completed = subprocess.run([*script, *arguments], capture_output=True, text=True, env=environment)
        assert completed.returncode == 1 and 'Traceback' not in completed.stderr
        assert message in completed.stderr
