"""``aiida-perovskite setup --config`` and ``aiida-perovskite parametrise`` in the test profile."""

import yaml
from aiida import orm
from click.testing import CliRunner

from aiida_perovskite.cli import cmd_root
from aiida_perovskite.toolchain import executable
from aiida_perovskite.tools.codes import local_prepend_text


def test_setup_registers_codes_from_a_config(aiida_profile, tmp_path):
    config = {
        'computer': {'label': 'other-machine', 'hostname': 'localhost', 'transport': 'core.local',
                     'scheduler': 'core.direct', 'work_dir': str(tmp_path / 'work'), 'mpirun_command': 'mpirun -np {tot_num_mpiprocs}',
                     'minimum_job_poll_interval': 2},
        'codes': {tool: {'executable': str(executable(tool)), 'prepend_text': local_prepend_text()}
                  for tool in ('antechamber', 'parmchk2', 'tleap')},
    }
    path = tmp_path / 'computer.yaml'
    path.write_text(yaml.safe_dump(config))
    runner = CliRunner()
    result = runner.invoke(cmd_root, ['setup', '--profile', aiida_profile.name, '--config', str(path)])
    assert result.exit_code == 0, result.output
    assert f'Using the existing profile {aiida_profile.name}' in result.output
    computer = orm.load_computer('other-machine')
    assert computer.is_configured and computer.scheduler_type == 'core.direct'
    assert computer.get_minimum_job_poll_interval() == 2
    codes = {code.label: code for code in orm.QueryBuilder().append(orm.InstalledCode).all(flat=True)
             if code.computer.pk == computer.pk}
    assert sorted(codes) == ['antechamber', 'parmchk2', 'tleap']
    assert codes['tleap'].default_calc_job_plugin == 'perovskite.tleap'
    # Running it again reuses everything.
    again = runner.invoke(cmd_root, ['setup', '--profile', aiida_profile.name, '--config', str(path)])
    assert again.exit_code == 0 and f'pk {codes["tleap"].pk}' in again.output


def test_parametrise_writes_the_lammps_files(aiida_profile, amber_codes, aiida_localhost, butylammonium_rp, tmp_path):
    cif = tmp_path / 'ba2pbi4.cif'
    butylammonium_rp.to(filename=str(cif))
    result = CliRunner().invoke(cmd_root, [
        'parametrise', str(cif), '--charges', 'gas', '--supercell', '2', '1', '1', '--write-dir', str(tmp_path / 'out'),
        '--computer', aiida_localhost.label, '--profile', aiida_profile.name,
    ])
    assert result.exit_code == 0, result.output
    assert 'CCCC[NH3+] x2' in result.output and 'replication [2, 1, 1]' in result.output
    # The options not given are the default protocol's, run's: its force field, cut-off and PPPM accuracy.
    assert 'myp-pbi-uffi (heavy-as-cn), charges gas, charge model formal' in result.output
    forcefield = (tmp_path / 'out' / 'forcefield.lmp').read_text()
    assert 'lj/cut/coul/long 12.0' in forcefield and 'kspace_style pppm 1e-05' in forcefield
    data = (tmp_path / 'out' / 'data.lmp').read_text()
    assert f'{2 * len(butylammonium_rp)} atoms' in data
    assert 'read_data data.lmp' in (tmp_path / 'out' / 'forcefield.lmp').read_text()


def test_parametrise_reports_failure(aiida_profile, amber_codes, aiida_localhost, tmp_path):
    cif = tmp_path / 'broken.cif'
    cif.write_text('data_broken\n_cell_length_a 5\n')
    result = CliRunner().invoke(cmd_root, ['parametrise', str(cif), '--computer', aiida_localhost.label,
                                           '--profile', aiida_profile.name])
    assert result.exit_code == 1
    assert 'failed [210]' in result.output and 'broken.cif' in result.output


def test_local_codes_follow_a_moved_virtualenv(aiida_profile, tmp_path):
    """A code left by a deleted virtualenv (its executable gone) is not reused: it is relabelled and a code of
    this virtualenv takes the label, so old calculations keep theirs and new ones run. A code whose executable
    exists (someone's own build) is kept. Its own computer: other tests register codes on the shared localhost."""
    from aiida import orm

    from aiida_perovskite.toolchain import executable
    from aiida_perovskite.tools.codes import register_code, register_local_codes

    computer = orm.Computer(label='moved-venv', hostname='localhost', transport_type='core.local',
                            scheduler_type='core.direct', workdir=str(tmp_path)).store()
    stale = register_code(computer, 'parmchk2', '/gone/.venv/bin/parmchk2')
    own = tmp_path / 'tleap'
    own.write_text('#!/bin/sh\n')
    custom = register_code(computer, 'tleap', str(own))
    codes = register_local_codes(computer)
    assert str(codes['parmchk2'].filepath_executable) == str(executable('parmchk2'))
    assert codes['parmchk2'].pk != stale.pk and codes['parmchk2'].label == 'parmchk2'
    assert orm.load_node(stale.pk).label == f'parmchk2-moved-{stale.pk}'
    assert codes['tleap'].pk == custom.pk and orm.load_node(custom.pk).label == 'tleap'
    assert register_local_codes(computer)['parmchk2'].pk == codes['parmchk2'].pk  # current ones are kept
