"""The command line's shape: a light group, commands added without import cycles, public names only."""

import ast
import pathlib
import subprocess
import sys

import aiida_perovskite
from aiida_perovskite.cli import COMMANDS, cmd_root

PACKAGE = pathlib.Path(aiida_perovskite.__file__).parent
BENCHMARKS = PACKAGE.parent / 'benchmarks'

#: Private imports another branch of issue 14 removes (protocols: ``ladder._update``); empty once merged.
KNOWN = {('workflows/material.py', '_update')}


def private_imports(path: pathlib.Path):
    """``(name, line)`` of every private name (``_x``, not ``__x__``) a module imports from another module."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            modules = [node.module or '']
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            modules, names = [alias.name for alias in node.names], []
        else:
            continue
        for dotted in modules + names:
            for part in dotted.split('.'):
                if part.startswith('_') and not part.startswith('__'):
                    yield part, node.lineno


def test_no_private_name_is_imported_across_modules():
    found = []
    for root in (PACKAGE, BENCHMARKS):
        for path in sorted(root.rglob('*.py')):
            relative = path.relative_to(root).as_posix()
            found += [f'{path.relative_to(PACKAGE.parent)}:{line} imports {name}'
                      for name, line in private_imports(path) if (relative, name) not in KNOWN]
    assert found == []


def test_only_the_package_module_adds_commands_to_the_group():
    importers = []
    for path in sorted((PACKAGE / 'cli').glob('*.py')):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module in ('root', 'aiida_perovskite.cli.root')
                                                     or any(alias.name == 'cmd_root' for alias in node.names)):
                importers.append(path.name)
    assert importers == ['__init__.py']
    assert sorted(cmd_root.commands) == sorted(command.name for command in COMMANDS) == [
        'build', 'dataset', 'export', 'graph', 'inspect', 'parametrise', 'report', 'run', 'screen', 'setup', 'status',
        'train', 'validate']


def test_every_profile_option_is_the_shared_one():
    for command in COMMANDS:
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
