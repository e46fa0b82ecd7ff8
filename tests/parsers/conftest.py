"""Fixtures of the parser tests: calculation nodes whose retrieved folder is a stored real output."""

from __future__ import annotations

import pathlib

import pytest

#: ``fixtures/<calculation>/<case>/``: the files a real run retrieved, one folder per case.
FIXTURES = pathlib.Path(__file__).parent / 'fixtures'


@pytest.fixture
def generate_calc_job_node(aiida_localhost):
    """Make a stored ``CalcJobNode`` of a ``perovskite.*`` calculation with a real retrieved folder.

    ``generate_calc_job_node(entry_point, case, inputs=None)``:

    :param entry_point: the calculation's entry point, e.g. ``'perovskite.lammps'``.
    :param case: folder under ``fixtures/<name>/`` (``name`` is the entry point without
        ``perovskite.``), or an absolute path; every file in it becomes the ``retrieved`` output.
    :param inputs: input nodes by link label (nested namespaces as ``'a__b'``); stored here.
    :returns: the node, ready for ``ParserClass.parse_from_node(node, store_provenance=False)``.
    """
    from aiida import orm
    from aiida.common.links import LinkType

    def generate(entry_point: str, case: str | pathlib.Path, inputs: dict | None = None) -> orm.CalcJobNode:
        folder = pathlib.Path(case)
        if not folder.is_absolute():
            folder = FIXTURES / entry_point.removeprefix('perovskite.') / case
        if not folder.is_dir():
            raise FileNotFoundError(f'no stored output at {folder}')
        node = orm.CalcJobNode(computer=aiida_localhost, process_type=f'aiida.calculations:{entry_point}')
        node.set_option('resources', {'num_machines': 1, 'num_mpiprocs_per_machine': 1})
        node.set_option('max_wallclock_seconds', 1800)
        for label, value in (inputs or {}).items():
            node.base.links.add_incoming(value.store(), link_type=LinkType.INPUT_CALC, link_label=label)
        node.store()
        retrieved = orm.FolderData()
        retrieved.base.repository.put_object_from_tree(str(folder))
        retrieved.base.links.add_incoming(node, link_type=LinkType.CREATE, link_label='retrieved')
        retrieved.store()
        return node

    return generate
