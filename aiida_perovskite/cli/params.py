"""Options and arguments shared by the commands, and the CIF files a command line's paths stand for.

Each shared option is defined once here (name, destination, help); a command that needs another
help text or default for the same option calls the factory (e.g. ``profile_option(help=...)``), so
the option keeps one name and one destination everywhere.
"""

from __future__ import annotations

import functools
import pathlib
from collections.abc import Iterable, Iterator

import click

from aiida_perovskite.workflows.protocols.utils import default_force_field, load_protocol_file

#: The protocols of MaterialWorkChain, which `run` submits.
MATERIAL = load_protocol_file('material.yaml')

__all__ = ('CIF_PATHS', 'COMPUTER', 'DAEMON', 'GROUP', 'MODEL', 'MPIPROCS', 'PROFILE', 'PROTOCOL', 'expand_paths', 'group_option',
           'model_option', 'profile_option')


def profile_option(**kwargs):
    """``--profile NAME`` (passed as ``profile_name``); the default help says what omitting it means."""
    kwargs.setdefault('help', 'AiiDA profile (default: the default profile).')
    return click.option('--profile', 'profile_name', metavar='NAME', **kwargs)


def group_option(**kwargs):
    """``--group LABEL`` (passed as ``group_label``)."""
    return click.option('--group', 'group_label', metavar='LABEL', **kwargs)


def model_option(**kwargs):
    """``--model ID`` (passed as ``model_id``): a TrainedModelData by PK, UUID or label."""
    kwargs.setdefault('help', 'PK, UUID or label (GROUP/TARGET/FAMILY, the newest of that label) of a TrainedModelData.')
    return click.option('--model', 'model_id', metavar='ID', **kwargs)


#: The AiiDA profile of a command that reads or writes the provenance graph.
PROFILE = profile_option()
#: The computer whose registered codes a command runs.
COMPUTER = click.option('--computer', metavar='LABEL', help='Computer whose codes to use (default: the first registered).')
#: Submit to the daemon instead of running in this process.
DAEMON = click.option('--daemon', is_flag=True,
                      help='Submit to the daemon (started if needed) instead of running here one by one.')


class RanksType(click.ParamType):
    """A positive number of MPI ranks, or ``auto``."""

    name = 'N|auto'

    def convert(self, value, param, ctx):
        if value == 'auto' or isinstance(value, int):
            return value
        try:
            number = int(value)
        except (TypeError, ValueError):
            self.fail(f'{value!r} is neither a number of ranks nor auto', param, ctx)
        if number < 1:
            self.fail(f'{number} ranks: at least 1', param, ctx)
        return number


#: MPI ranks per LAMMPS run: ``auto`` shares the computer's cores among the runs that go at once.
MPIPROCS = click.option('--mpiprocs', type=RanksType(), default='auto', show_default=True,
                        help='MPI ranks per LAMMPS run; auto: the cores of the computer shared among the runs that go '
                             'at once on a core.direct computer (this machine: all its cores for one run), the '
                             'computer\'s mpiprocs_per_machine on a queued one.')
#: The group of materials a learning or report command reads.
GROUP = group_option(required=True, help='Group of materials (from `aiida-perovskite run`).')
#: A trained model that a command must be given.
MODEL = model_option(required=True)
#: The protocol of the materials' work chains (MaterialWorkChain's; its default is the product's default).
PROTOCOL = click.option('--protocol', type=click.Choice(list(MATERIAL['protocols'])), default=MATERIAL['default_protocol'],
                        show_default=True, help=f'Default force field: {default_force_field()["summary"]}.')
#: CIF files and folders (searched recursively), at least one; see :func:`expand_paths`.
CIF_PATHS = click.argument('paths', nargs=-1, required=True, type=click.Path(path_type=pathlib.Path))


def reading_options(command):
    """``--disorder`` and ``--hydrogens``: how a CIF is read (aiida_perovskite.structure.disorder, .hydrogens).

    The command receives them as one ``reading`` dict holding the policies that differ from the defaults
    (``{}`` for a plain read), ready to be the decomposition's parameters and ``inspect_cif``'s keywords.
    """

    @functools.wraps(command)
    def wrapper(*args, disorder, hydrogens, **kwargs):
        reading = {key: value for key, value, default in (('disorder', disorder, 'refuse'),
                                                           ('hydrogens', hydrogens, 'require')) if value != default}
        return command(*args, reading=reading, **kwargs)

    wrapper = click.option('--hydrogens', type=click.Choice(['require', 'add']), default='require', show_default=True,
                           help='A CIF without (some) hydrogen positions: refuse it, or add them at riding positions, '
                                'every amine protonated (recorded with the decomposition).')(wrapper)
    return click.option('--disorder', type=click.Choice(['refuse', 'major']), default='refuse', show_default=True,
                        help='A CIF with disorder groups or partial occupancies: refuse it, or keep the major '
                             'component of each disordered part (recorded with the decomposition).')(wrapper)


def expand_paths(paths: Iterable[pathlib.Path]) -> Iterator[pathlib.Path]:
    """Files as given, and the ``*.cif`` files under each folder (sorted, any case of the suffix).

    A path that does not exist is kept, so that the command reports it with the other failures.
    """
    for path in paths:
        path = pathlib.Path(path)
        if path.is_dir():
            yield from sorted(p for p in path.rglob('*') if p.suffix.lower() == '.cif' and p.is_file())
        else:
            yield path
