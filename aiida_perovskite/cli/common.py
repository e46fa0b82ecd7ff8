"""Steps several commands share, with the command line's way of failing: one line that names the
missing thing and where to look (``click.ClickException``, exit status 1), never a traceback."""

from __future__ import annotations

import contextlib

import click

__all__ = ('Batch', 'describe_error', 'exit_label', 'load_model', 'load_node', 'load_profile', 'load_profile_and_codes')


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
    try:  # a model that cannot be loaded fails here once, not once per CIF
        if node.is_network:  # reads each structure itself (fingerprint or crystal graph)
            node.network()
        else:
            node.estimator()
            names = node.feature_names
            if not names or not all(isinstance(name, str) for name in names):
                raise ValueError(f'its feature names are {names!r}')
    except Exception as error:
        message = ' '.join(str(error).split()) or type(error).__name__
        raise click.ClickException(f'model {identifier} (TrainedModelData<{node.pk}>) cannot be used: '
                                   f'{type(error).__name__}: {message}') from None
    return node


class Batch:
    """The inputs of a batch command: every bad one reported on one line, the rest carried on, the failures kept.

    ::

        batch = Batch(paths)                  # the CIF files the paths stand for (expand_paths)
        for path in batch:
            with batch.step(path):            # an error here: one line on stderr, then the next path
                ...
        batch.exit()                          # status 1 if any input failed, else 0

    The line is ``FILE: ErrorClass: message`` (:meth:`fail`), so a folder of experimental CIFs with
    missing hydrogens, disorder or unknown elements is reported file by file and the good ones still
    run. KeyboardInterrupt and the command's own usage errors (click's) still stop the command.
    """

    def __init__(self, paths=(), expand: bool = True):
        from .params import expand_paths

        self.items = list(expand_paths(paths)) if expand else list(paths)
        #: ``(item, error class, message)`` of every failed input, in the order they failed.
        self.failures: list[tuple[str, str, str]] = []

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def fail(self, item, kind: str, message: str) -> None:
        """Report ``item`` as failed on one line (stderr) and remember it."""
        message = ' '.join(str(message).split())  # one line, whatever the error printed
        click.echo(f'{item}: {kind}: {message}', err=True)
        self.failures.append((str(item), kind, message))

    def fail_with(self, item, error: BaseException) -> None:
        """:meth:`fail` with the class and message of ``error`` (see :func:`describe_error`)."""
        self.fail(item, *describe_error(error, item))

    @contextlib.contextmanager
    def step(self, item):
        """Run the block for ``item``; an error is reported (:meth:`fail_with`) and the batch goes on."""
        try:
            yield
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as error:  # every other failure of one input must not lose the others
            self.fail_with(item, error)

    def exit(self, more_failures: int = 0) -> None:
        """End the command: status 1 if any input failed (here or ``more_failures`` counted elsewhere), else 0."""
        raise SystemExit(1 if self.failures or more_failures else 0)


def describe_error(error: BaseException, item=None) -> tuple[str, str]:
    """``(error class, message)`` of an input's failure, as :class:`Batch` prints it.

    A structure problem is named by its own class (also when another error was raised while handling
    it, e.g. a screening error wrapping it, or an exit message ``Class: file: message`` of a process);
    the file name is not repeated when the line already starts with it.
    """
    import re

    from aiida_perovskite.structure import StructureError

    context = error.__context__
    if not isinstance(error, StructureError) and isinstance(context, StructureError):
        error = context
    if isinstance(error, StructureError):
        return type(error).__name__, error.message
    kind, message = type(error).__name__, ' '.join(str(error).split()) or type(error).__name__
    named = re.match(r'^([A-Z]\w*(?:Error|Exception)): (.*)$', message)
    if named:
        kind, message = named.groups()
    for prefix in {str(item), getattr(item, 'name', None)} - {None, 'None'}:
        message = message.removeprefix(f'{prefix}: ')
    return kind, message


def exit_label(node) -> str:
    """The label of a failed process's exit status (``ERROR_BROKEN_PHYSICS``...), as the error class of its line."""
    from aiida_perovskite.common.exit_codes import label_of

    return label_of(node.exit_status) or (f'exit status {node.exit_status}' if node.is_finished else
                                           (node.process_state.value if node.process_state else 'not run'))
