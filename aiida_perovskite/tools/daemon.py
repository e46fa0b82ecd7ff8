"""The profile's daemon: start it when it is stopped, after giving back the tasks a stopped daemon lost."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time

__all__ = ('DaemonError', 'daemon_answers', 'ensure_daemon', 'wait_for_broker')


class DaemonError(RuntimeError):
    """The daemon could not be started; the message holds what ``verdi daemon start`` printed."""


def daemon_answers(client) -> bool:
    """Whether the daemon runs and answers.

    A daemon killed outright leaves a PID file that still makes ``is_daemon_running`` true, and the
    processes it held would wait forever.
    """
    if not client.is_daemon_running:
        return False
    try:
        client.get_status(timeout=10)
    except Exception:  # DaemonStalePidException, DaemonNotRunningException, a timeout
        return False
    return True


def ensure_daemon(workers: int = 1) -> str | None:
    """Start the loaded profile's daemon with ``workers`` workers if it is not answering.

    With the broker bundled into the daemon (``verdi presto``), a process submitted just before
    the daemon stopped loses its task; ``verdi process repair`` (daemon stopped) gives it back, so
    it runs before the start.

    :returns: the profile's name when the daemon was started, None when it was already running.
    :raises DaemonError: ``verdi daemon start`` failed.
    """
    from aiida.engine.daemon.client import get_daemon_client

    client = get_daemon_client()
    if daemon_answers(client):
        return None
    verdi = pathlib.Path(sys.executable).with_name('verdi')
    # The daemon client looks `verdi` up on PATH: make it this virtualenv's even when the caller
    # ran `.venv/bin/aiida-perovskite` without activating the virtualenv.
    os.environ['PATH'] = f'{verdi.parent}{os.pathsep}{os.environ.get("PATH", "")}'
    profile = client.profile.name
    if client.is_daemon_running:  # a PID file but no daemon: it was killed; `stop` clears what it left
        subprocess.run([str(verdi), '-p', profile, 'daemon', 'stop'], capture_output=True, text=True)
    subprocess.run([str(verdi), '-p', profile, 'process', 'repair'], capture_output=True, text=True)
    started = subprocess.run([str(verdi), '-p', profile, 'daemon', 'start', str(workers), '--timeout', '60'],
                             capture_output=True, text=True)
    if started.returncode:
        raise DaemonError(f'cannot start the daemon: {started.stdout}{started.stderr}')
    wait_for_broker()
    return profile


def wait_for_broker(timeout: float = 60.0) -> None:
    """Wait until the broker bundled with the daemon (``verdi presto``'s ZeroMQ one) has written its files.

    ``verdi daemon start`` returns before that broker writes where its sockets are; a process submitted in
    between reads the sockets file a stopped broker left behind and its task goes nowhere (seen here: two
    validations stayed ``Created`` with 0 tasks pending). The broker writes its PID file after its sockets
    file, so a running PID means both are current. A RabbitMQ broker has no such files: nothing to wait for.
    """
    from aiida.manage import get_manager

    broker = get_manager().get_broker()
    reachable = getattr(broker, 'check_service_reachable', None)
    if reachable is None:
        return
    deadline = time.monotonic() + timeout
    while not reachable():
        if time.monotonic() > deadline:
            raise DaemonError(f'the daemon started but its broker did not answer within {timeout:.0f} s: {broker}')
        time.sleep(0.2)
