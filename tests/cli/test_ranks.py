"""``--mpiprocs auto``: how many MPI ranks a LAMMPS run gets on a computer, and the option's parsing."""

import os

import click
import pytest

from aiida_perovskite.cli.params import RanksType


def computer(scheduler='core.direct', transport='core.local', mpiprocs=None):
    from aiida import orm

    node = orm.Computer(label=f'ranks-{scheduler}-{transport}-{mpiprocs}', hostname='localhost',
                        transport_type=transport, scheduler_type=scheduler, workdir='/tmp/aiida')
    if mpiprocs:
        node.set_default_mpiprocs_per_machine(mpiprocs)
    return node


def test_local_direct_computer_shares_this_machines_cores(aiida_profile):
    from aiida_perovskite.tools.codes import ranks_per_run

    cores = len(os.sched_getaffinity(0))
    assert ranks_per_run(computer()) == cores
    assert ranks_per_run(computer(), concurrent=cores) == 1
    assert ranks_per_run(computer(), concurrent=10 * cores) == 1  # never zero
    assert ranks_per_run(computer(mpiprocs=8), concurrent=2) == 4  # the computer's own count wins
    assert ranks_per_run(computer(transport='core.ssh')) == 1  # a remote machine of unknown size: one


def test_queued_computer_gives_each_run_the_whole_node(aiida_profile):
    from aiida_perovskite.tools.codes import ranks_per_run

    assert ranks_per_run(computer('core.slurm', 'core.ssh', 64), concurrent=100) == 64
    assert ranks_per_run(computer('core.slurm', 'core.ssh')) == 1


def test_option_parses_numbers_and_auto():
    parse = RanksType().convert
    assert parse('auto', None, None) == 'auto'
    assert parse('3', None, None) == 3
    for bad in ('0', 'many', '-2'):
        with pytest.raises(click.BadParameter):
            parse(bad, None, None)
