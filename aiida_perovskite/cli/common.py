"""Steps several commands share, with the command line's way of failing: one line that names the
missing thing and where to look (``click.ClickException``, exit status 1), never a traceback."""

from __future__ import annotations

import click

__all__ = ('load_model', 'load_node', 'load_profile', 'load_profile_and_codes')


def load_profile(profile_name: str | None = None):
    """Load the AiiDA profile ``profile_name`` (the default profile when None) and return it.

    :raises click.ClickException: the profile does not exist, or there is no configuration or default profile.
    """
    from aiida import load_profile as load
    from aiida.common.exceptions import ConfigurationError
    from aiida.manage.configuration import get_config

    if profile_name is not None:
        try:
            known = get_config().profile_names
        except ConfigurationError:  # no configuration at all: no profile exists
            known = []
        if profile_name not in known:
            raise click.ClickException(f'profile {profile_name!r} does not exist; `verdi profile list` shows the '
                                       f'existing ones (`aiida-perovskite setup --profile {profile_name}` creates it)')
    try:
        return load(profile_name, allow_switch=True)
    except ConfigurationError as error:  # no configuration, or no default profile
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise click.ClickException(f'no AiiDA profile to load ({message}); give --profile, or create one with '
                                   '`aiida-perovskite setup`') from None


def load_profile_and_codes(profile_name: str | None, computer: str | None = None, tools=None) -> dict:
    """Load the AiiDA profile and the codes registered for ``tools`` (by default those of a classical run).

    :raises click.ClickException: unknown profile or computer, or a code not registered (run ``setup`` first).
    """
    from aiida_perovskite.tools.codes import CLASSICAL_TOOLS, load_codes

    load_profile(profile_name)
    if computer is not None:
        from aiida import orm

        if not orm.QueryBuilder().append(orm.Computer, filters={'label': computer}).count():
            raise click.ClickException(f'computer {computer!r} does not exist; `verdi computer list` shows the '
                                       'existing ones (`aiida-perovskite setup --config FILE` registers one)')
    try:
        return load_codes(computer, tuple(tools or CLASSICAL_TOOLS))
    except LookupError as error:
        raise click.ClickException(str(error)) from None


def load_node(identifier: str):
    """A node by PK or UUID.

    :raises click.ClickException: no node has that PK or UUID.
    """
    from aiida import orm

    try:
        return orm.load_node(identifier)
    except Exception as error:  # NotExistent, MultipleObjectsError, a malformed identifier
        raise click.ClickException(f'cannot load node {identifier}: {error}') from None


def load_model(identifier: str):
    """A TrainedModelData by PK or UUID, else the newest TrainedModelData labelled ``identifier``.

    :raises click.ClickException: nothing matches, or the node is not a TrainedModelData.
    """
    from aiida import orm

    from aiida_perovskite.data import TrainedModelData

    try:
        node = orm.load_node(identifier)
    except Exception:  # not a PK or UUID of a node: a label
        node = orm.QueryBuilder().append(TrainedModelData, filters={'label': identifier}).order_by(
            {TrainedModelData: {'ctime': 'desc'}}).first(flat=True)
        if node is None:
            raise click.ClickException(
                f'model {identifier!r} does not exist (no node with that PK or UUID, no TrainedModelData with that '
                'label); `aiida-perovskite report --group GROUP` lists the models trained on a group') from None
    if not isinstance(node, TrainedModelData):
        raise click.ClickException(f'node {identifier} is a {type(node).__name__}, not a TrainedModelData')
    return node
