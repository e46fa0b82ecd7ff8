"""The package's layer boundaries, enforced: import-linter contracts, no private names across modules, ruff.

The contracts live in ``setup.cfg`` (``[importlinter:contract:*]``). These tests run them and keep
them complete: every subpackage must belong to exactly one layer, so a new stage cannot slip
in unchecked, and deleting a module from a contract makes a test fail.
"""

from __future__ import annotations

import ast
import configparser
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / 'aiida_perovskite'
BIN = pathlib.Path(sys.executable).parent

#: The layers, bottom to top. Cores are plain Python; the plugin layer wraps them in AiiDA processes
#: and data types (``common`` holds what its processes share, e.g. the exit-code table); the interface
#: (node helpers and the command line) drives the plugin layer.
CORE = {'analysis', 'builder', 'fingerprint', 'forcefield', 'ml', 'mlip', 'search', 'simulation', 'structure', 'toolchain'}
PLUGIN = {'calculations', 'common', 'data', 'parsers', 'workflows'}
INTERFACE = {'tools', 'cli'}


def contracts() -> dict[str, dict[str, set[str]]]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / 'setup.cfg')
    found = {}
    for section in parser.sections():
        if section.startswith('importlinter:contract:'):
            found[section.split(':')[-1]] = {
                key: {line.strip() for line in parser[section][key].splitlines() if line.strip()}
                for key in ('source_modules', 'forbidden_modules') if key in parser[section]
            }
    return found


def qualified(names) -> set[str]:
    return {f'aiida_perovskite.{name}' for name in names}


def test_every_subpackage_belongs_to_exactly_one_layer():
    modules = {path.stem for path in PACKAGE.glob('*.py') if path.stem != '__init__'}
    modules |= {path.name for path in PACKAGE.iterdir() if (path / '__init__.py').is_file()}
    layers = [CORE, PLUGIN, INTERFACE]
    unclassified = sorted(modules - set().union(*layers))
    assert not unclassified, f'add {unclassified} to a layer here and to the contracts in setup.cfg'
    assert not (CORE & PLUGIN) and not (CORE & INTERFACE) and not (PLUGIN & INTERFACE)


def test_contracts_cover_every_layer():
    found = contracts()
    assert set(found) == {'core-is-plain-python', 'plugin-below-interface', 'tools-below-cli'}
    core = found['core-is-plain-python']
    assert core['source_modules'] == qualified(CORE)
    assert core['forbidden_modules'] == {'aiida'} | qualified(PLUGIN | INTERFACE)
    plugin = found['plugin-below-interface']
    assert plugin['source_modules'] == qualified(PLUGIN)
    assert plugin['forbidden_modules'] == qualified(INTERFACE)
    tools = found['tools-below-cli']
    assert tools == {'source_modules': qualified({'tools'}), 'forbidden_modules': qualified({'cli'})}


def test_import_linter_contracts_are_kept():
    result = subprocess.run([str(BIN / 'lint-imports'), '--no-cache'], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert 'Contracts: 3 kept, 0 broken.' in result.stdout


def private_imports(path: pathlib.Path) -> list[str]:
    """Every private name (``_x``, not ``__x__``) that ``path`` imports from another module, as a module
    part or an imported name (``from a._b import c``, ``from a import _c``, ``import a._b``)."""
    problems = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            dotted = [node.module or ''] + [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            dotted = [alias.name for alias in node.names]
        else:
            continue
        for part in (part for name in dotted for part in name.split('.')):
            if part.startswith('_') and not part.startswith('__'):
                problems.append(f'{path.relative_to(ROOT)}:{node.lineno} imports {part}')
    return problems


@pytest.mark.parametrize('folder', ['aiida_perovskite', 'benchmarks', 'examples'])
def test_no_private_name_is_imported_across_modules(folder):
    problems = [problem for path in sorted((ROOT / folder).rglob('*.py')) for problem in private_imports(path)]
    assert not problems, 'private names imported across modules (make them public or move them):\n' + '\n'.join(problems)


def test_ruff_passes():
    result = subprocess.run([str(BIN / 'ruff'), 'check', '--no-cache', '.'], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
