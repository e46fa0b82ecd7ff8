"""Exit codes of every ``perovskite.*`` process: unique, in aiida-core's bands, never redeclaring aiida-core's own.

The rule: a code a process inherits from its aiida-core base class (``CalcJob``, ``WorkChain``,
``BaseRestartWorkChain``, the process function) keeps the base's status; every other code is
in ``common.exit_codes.EXIT_CODES`` with the same status, at 200 or above, inside the range of
the band that table gives it (2xx input, 3xx unrecoverable, 4xx recoverable, 5xx physics).
"""

import inspect
import re
from importlib.metadata import entry_points

import pytest
from aiida.engine import Process

from aiida_perovskite.common.exit_codes import BANDS, EXIT_CODES

GROUPS = ('aiida.calculations', 'aiida.workflows', 'aiida.parsers')


def perovskite_entry_points(group):
    return sorted((ep for ep in entry_points(group=group) if ep.name.startswith('perovskite.')), key=lambda e: e.name)


def process_class(loaded):
    """The process class of a loaded entry point (a process function carries its own)."""
    return loaded if inspect.isclass(loaded) else loaded.process_class


def aiida_base(cls):
    """The nearest aiida-core class in ``cls``'s ancestry: the owner of the codes below 200."""
    return next(base for base in cls.__mro__[1:] if base.__module__.startswith('aiida.') and issubclass(base, Process))


def problems(cls) -> list[str]:
    """What breaks the rule in ``cls``'s exit codes (empty when it keeps it)."""
    found = []
    codes = {label: code.status for label, code in cls.spec().exit_codes.items()}
    owned = {label: code.status for label, code in aiida_base(cls).spec().exit_codes.items()}
    statuses = list(codes.values())
    found += [f'status {s} used by {sorted(label for label, c in codes.items() if c == s)}'
              for s in sorted(set(statuses)) if statuses.count(s) > 1]
    for label, status in codes.items():
        if label in owned:
            if status != owned[label]:
                found.append(f'{label} is aiida-core\'s {owned[label]}, redeclared as {status}')
            continue
        if status < 200 or status in owned.values():
            found.append(f'{label} ({status}) takes a status aiida-core owns')
        entry = EXIT_CODES.get(label)
        if entry is None:
            found.append(f'{label} ({status}) is not in common.exit_codes.EXIT_CODES')
        elif entry.status != status:
            found.append(f'{label} is {entry.status} in EXIT_CODES, declared as {status}')
        elif status not in BANDS[entry.band]:
            found.append(f'{label} ({status}) is outside its band {entry.band}')
    return found


@pytest.mark.parametrize('group', GROUPS)
def test_groups_have_processes(group):
    assert perovskite_entry_points(group), f'no perovskite.* entry point in {group}: is the package installed?'


@pytest.mark.parametrize('entry_point', [*perovskite_entry_points('aiida.calculations'),
                                         *perovskite_entry_points('aiida.workflows')], ids=lambda e: e.name)
def test_process_exit_codes(entry_point):
    cls = process_class(entry_point.load())
    assert problems(cls) == []


@pytest.mark.parametrize('entry_point', perovskite_entry_points('aiida.parsers'), ids=lambda e: e.name)
def test_parser_returns_only_codes_of_its_calculation(entry_point):
    """Every ``ERROR_*`` a parser names is declared by the calculation of the same entry point name."""
    parser = entry_point.load()
    calculation = next(iter(entry_points(group='aiida.calculations', name=entry_point.name))).load()
    named = set(re.findall(r'\b(ERROR_[A-Z0-9_]+)', inspect.getsource(inspect.getmodule(parser))))
    assert named, 'the parser returns no exit code'
    assert sorted(named - set(calculation.spec().exit_codes)) == []


def test_table_is_unique_and_banded():
    statuses = [code.status for code in EXIT_CODES.values()]
    assert len(statuses) == len(set(statuses))
    for label, code in EXIT_CODES.items():
        assert code.status in BANDS[code.band], label
        if label.startswith('ERROR_SUB_PROCESS_FAILED_'):
            assert code.band == 'unrecoverable', label
    # BaseRestartWorkChain owns 301, 302, 401 and 402: none of ours may reuse them.
    assert not {301, 302, 401, 402} & set(statuses)


def test_rule_catches_a_planted_duplicate_and_a_redeclared_aiida_code():
    from aiida.engine import CalcJob, WorkChain

    class Duplicate(WorkChain):
        @classmethod
        def define(cls, spec):
            super().define(spec)
            spec.exit_code(375, 'ERROR_SUB_PROCESS_FAILED_SEGMENT', message='x')
            spec.exit_code(375, 'ERROR_SUB_PROCESS_FAILED_LADDER', message='x')

    class Redeclared(CalcJob):
        @classmethod
        def define(cls, spec):
            super().define(spec)
            spec.exit_code(300, 'ERROR_NO_RETRIEVED_FOLDER', message='x')
            spec.exit_code(420, 'ERROR_LOST_ATOMS', message='x')

    assert any('status 375 used by' in p for p in problems(Duplicate))
    found = problems(Redeclared)
    assert any('ERROR_NO_RETRIEVED_FOLDER is aiida-core\'s 100' in p for p in found)
    assert any('ERROR_LOST_ATOMS is 500 in EXIT_CODES' in p for p in found)
