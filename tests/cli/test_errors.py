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


@pytest.mark.parametrize('text, message', [
    ('computer: {label: x\n', 'not valid YAML (line 2, column 1): '),
    ('- just\n- a list\n', 'the config must be a mapping with a computer and a codes section, not list'),
    ('codes: {}\n', 'the config needs a computer section with a label'),
    ('computer: {label: x, hostnme: h}\n', 'unknown computer key(s) hostnme; known: label, hostname'),
    ('computer: {label: x, transport: core.carrier-pigeon}\n',
     "computer.transport 'core.carrier-pigeon' is not an installed AiiDA transport plugin"),
    ('computer: {label: x, mpiprocs_per_machine: many}\n', "computer.mpiprocs_per_machine must be a number, not 'many'"),
    ('computer: {label: x}\ncodes: {gromacs: {executable: /bin/true}}\n', "unknown tool 'gromacs' in the config"),
    ('computer: {label: x}\ncodes: {tleap: /bin/tleap}\n', 'codes.tleap needs an executable'),
], ids=['yaml', 'list', 'no-computer', 'unknown-key', 'transport', 'number', 'tool', 'executable'])
def test_malformed_setup_config(aiida_profile, tmp_path, text, message):
    from aiida import orm

    config = tmp_path / 'computer.yaml'
    config.write_text(text)
    computers = orm.QueryBuilder().append(orm.Computer).count()
    line = one_line_error(CliRunner().invoke(cmd_root, ['setup', '--profile', aiida_profile.name, '--config', str(config)]))
    assert line.startswith(f'Error: {config}: ') and message in line, line
    assert orm.QueryBuilder().append(orm.Computer).count() == computers  # refused before anything was made


def test_setup_config_of_a_new_profile_is_checked_before_the_profile_is_made(tmp_path):
    """A fresh AIIDA_PATH: the malformed config is refused and no profile is created."""
    import os
    import subprocess
    import sys

    config = tmp_path / 'computer.yaml'
    config.write_text('computer: [not, a, mapping]\n')
    script = [sys.executable, '-c', 'from aiida_perovskite.cli import cmd_root; cmd_root()']
    completed = subprocess.run([*script, 'setup', '--profile', 'fresh', '--config', str(config)], capture_output=True,
                               text=True, env={**os.environ, 'AIIDA_PATH': str(tmp_path)})
    assert completed.returncode == 1 and 'Traceback' not in completed.stderr
    assert f'Error: {config}: the config needs a computer section with a label' in completed.stderr
    assert 'Created profile' not in completed.stdout


def test_a_model_that_cannot_be_loaded(aiida_profile, tmp_path):
    """A TrainedModelData whose stored estimator is not a model (a corrupt or foreign file)."""
    import io

    from aiida_perovskite.data import TrainedModelData

    model = TrainedModelData()
    model.base.repository.put_object_from_filelike(io.BytesIO(b'not a skops file'), TrainedModelData.FILENAME)
    model.base.attributes.set_many({'task': 'cp_u', 'family': 'ols', 'feature_names': ['thermo:temperature']})
    model.store()
    cif = tmp_path / 'x.cif'
    cif.write_text('data_x\n')
    line = one_line_error(CliRunner().invoke(cmd_root, ['screen', str(cif), '--model', str(model.pk),
                                                        '--profile', aiida_profile.name]))
    assert line.startswith(f'Error: model {model.pk} (TrainedModelData<{model.pk}>) cannot be used: '), line
