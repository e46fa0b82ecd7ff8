"""The command line's shape: a light group and commands added without import cycles (private imports:
tests/test_boundaries.py)."""

import ast
import pathlib
import subprocess
import sys

import aiida_perovskite
from aiida_perovskite.cli import COMMANDS, cmd_root

PACKAGE = pathlib.Path(aiida_perovskite.__file__).parent

def test_only_the_package_module_adds_commands_to_the_group():
    importers = []
    for path in sorted((PACKAGE / 'cli').glob('*.py')):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module in ('root', 'aiida_perovskite.cli.root')
                                                     or any(alias.name == 'cmd_root' for alias in node.names)):
                importers.append(path.name)
    assert importers == ['__init__.py']
    assert sorted(cmd_root.commands) == sorted(command.name for command in COMMANDS) == [
        'build', 'dataset', 'export', 'graph', 'inspect', 'parametrise', 'potential', 'predict', 'report', 'run', 'screen',
        'setup', 'status', 'train', 'train-network', 'validate']


def leaf_commands():
    """Every command a user runs: the registered ones, and the subcommands of a registered group."""
    import click

    for command in COMMANDS:
        if isinstance(command, click.Group):
            assert command.commands, f'group {command.name} has no subcommands'
            yield from command.commands.values()
        else:
            yield command


def test_every_profile_option_is_the_shared_one():
    for command in leaf_commands():
        options = {param.name: param for param in command.params}
        if command.name == 'inspect':  # reads files only
            assert 'profile_name' not in options
        else:
            assert options['profile_name'].opts == ['--profile'] and options['profile_name'].metavar == 'NAME'
        if 'computer' in options:
            assert options['computer'].help == 'Computer whose codes to use (default: the first registered).'


def test_the_group_loads_without_aiida_or_pymatgen():
    """``aiida-perovskite --help`` stays instant: the commands import their heavy modules when they run."""
    code = ('import sys; from aiida_perovskite.cli import cmd_root; '
            'print(sorted({m.split(".")[0] for m in sys.modules} & {"aiida", "pymatgen", "numpy", "sklearn", "pandas"}))')
    completed = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == '[]'
