"""``aiida-perovskite run`` (without the daemon) and ``status`` on a group."""

from aiida import orm
from click.testing import CliRunner

from aiida_perovskite.cli import cmd_root


def test_run_then_status_then_rerun(aiida_profile, aiida_localhost, butanediammonium_dj, tmp_path):
    from aiida_perovskite.tools.codes import register_local_codes

    register_local_codes(aiida_localhost)
    folder = tmp_path / 'cifs'
    folder.mkdir()
    butanediammonium_dj.to(filename=str(folder / 'bda.cif'))
    (folder / 'broken.cif').write_text('data_broken\n')
    common = ['--group', 'screen', '--computer', aiida_localhost.label, '--profile', aiida_profile.name]
    runner = CliRunner()

    result = runner.invoke(cmd_root, ['run', str(folder), '--protocol', 'fast', *common])
    assert result.exit_code == 1  # the broken file failed, the good one still ran
    assert 'bda.cif: done' in result.output and '2 temperatures' in result.output
    assert 'broken.cif: UnreadableCifError: ' in result.output  # refused before it becomes a material

    group = orm.load_group('screen')
    assert len(group.nodes) == 1
    status = runner.invoke(cmd_root, ['status', '--group', 'screen', '--profile', aiida_profile.name])
    assert status.exit_code == 0, status.output
    bda = next(line for line in status.output.splitlines() if 'bda.cif' in line)
    assert 'finished' in bda and '2/2' in bda
    cp_u = orm.QueryBuilder().append(orm.Group, filters={'label': 'screen'}, tag='g').append(
        orm.WorkChainNode, with_group='g', filters={'attributes.exit_status': 0}).first(flat=True).outputs.targets['cp_u']
    assert f'{cp_u:.3e}' in bda  # the target is shown as soon as the material is done
    assert '1 material(s): 1 finished, 0 failed, 0 in progress' in status.output

    again = runner.invoke(cmd_root, ['run', str(folder / 'bda.cif'), '--protocol', 'fast', *common])
    assert again.exit_code == 0 and 'done already' in again.output
    assert len(orm.load_group('screen').nodes) == 1  # nothing was run twice
