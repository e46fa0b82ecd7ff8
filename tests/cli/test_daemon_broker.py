"""Starting the daemon waits for its bundled broker, so a process submitted right after is not lost."""

import pytest

from aiida_perovskite.tools import daemon


class Broker:
    """A stand-in for the manager's broker: reachable after ``after`` checks (None: never)."""

    def __init__(self, after):
        self.after, self.checks = after, 0

    def check_service_reachable(self):
        self.checks += 1
        return self.after is not None and self.checks > self.after

    def __str__(self):
        return 'ZeroMQ Broker @ test <not running>'


class Manager:
    def __init__(self, broker):
        self.broker = broker

    def get_broker(self):
        return self.broker


def test_wait_for_broker_polls_until_the_new_broker_has_written_its_files(monkeypatch):
    import aiida.manage

    broker = Broker(after=3)
    monkeypatch.setattr(aiida.manage, 'get_manager', lambda: Manager(broker))
    monkeypatch.setattr(daemon.time, 'sleep', lambda seconds: None)
    daemon.wait_for_broker(timeout=5)
    assert broker.checks == 4
    never = Broker(after=None)
    monkeypatch.setattr(aiida.manage, 'get_manager', lambda: Manager(never))
    with pytest.raises(daemon.DaemonError, match='broker did not answer within 0 s'):
        daemon.wait_for_broker(timeout=0)
    monkeypatch.setattr(aiida.manage, 'get_manager', lambda: Manager(object()))  # RabbitMQ: nothing to wait for
    daemon.wait_for_broker(timeout=0)
