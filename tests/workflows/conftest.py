"""Restart-chain tests in aiida-quantumespresso's style: a failed calculation planted as a chain's latest attempt."""

from __future__ import annotations

import pytest
from aiida import orm
from aiida.common.links import LinkType
from plumpy import ProcessState


@pytest.fixture
def plant_failed_child(aiida_localhost, tmp_path):
    """Add a finished calculation of the chain's own calculation class with ``exit_code`` (its message
    formatted with ``message``), a remote folder and ``outputs`` as the process's latest attempt."""

    def plant(process, exit_code, outputs: dict | None = None, **message) -> orm.CalcJobNode:
        calculation = process._process_class
        node = orm.CalcJobNode(computer=aiida_localhost, process_type=calculation.build_process_type())
        node.set_process_label(calculation.__name__)
        node.set_process_state(ProcessState.FINISHED)
        node.set_exit_status(exit_code.status)
        node.set_exit_message(exit_code.format(**message).message if message else exit_code.message)
        node.store()
        remote = orm.RemoteData(computer=aiida_localhost, remote_path=str(tmp_path / f'attempt_{node.pk}'))
        for label, output in {'remote_folder': remote, **(outputs or {})}.items():
            output.base.links.add_incoming(node, link_type=LinkType.CREATE, link_label=label)
            output.store()
        process.ctx.setdefault('children', []).append(node)
        process.ctx.iteration += 1
        return node

    return plant


def reports(process) -> str:
    """Every report line the process wrote."""
    return '\n'.join(log.message for log in orm.Log.collection.get_logs_for(process.node))


@pytest.fixture
def check_quenched():
    """Check a ladder's ``quenched_structure`` against its ``structure``: the same atoms and box, the metal and
    halide atoms moved by the minimiser (thermal displacements, a few tenths of an A) and none of them to a new
    site (a quench, not a new structure). Hydrogens are not bounded: a methyl turning to its next minimum moves
    them 1.7 A and more (a 2.03 A shift was seen on OpenMM)."""
    import numpy as np

    def check(results):
        final, quenched = results['structure'].get_pymatgen(), results['quenched_structure'].get_pymatgen()
        assert np.allclose(final.lattice.matrix, quenched.lattice.matrix, atol=1e-4)
        shifts = np.array([final.lattice.get_distance_and_image(a.frac_coords, b.frac_coords)[0]
                           for a, b in zip(final, quenched)])
        inorganic = np.array([site.specie.symbol in ('Pb', 'I') for site in final])
        assert 0.01 < np.median(shifts[inorganic]) < 0.5 and shifts[inorganic].max() < 1.2

    return check
