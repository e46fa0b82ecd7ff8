"""Submit work to the daemon a few at a time and print progress (shared by the benchmark scripts)."""

from __future__ import annotations

import time


def submit_throttled(pending: list, submit, nodes: dict, parallel: int, poll: float = 5.0) -> dict:
    """Submit ``pending`` items with ``submit(item) -> (key, node)``, keeping at most ``parallel`` of the
    nodes in ``nodes`` (key -> node, already-submitted ones included) unterminated; wait for all of them.

    Prints a line whenever the counts change; returns ``nodes`` with every submitted node added.
    """
    pending, last = list(pending), None
    while True:
        in_flight = [node for node in nodes.values() if not node.is_terminated]
        while pending and len(in_flight) < parallel:
            key, node = submit(pending.pop(0))
            nodes[key] = node
            in_flight.append(node)
        finished = sum(node.is_finished_ok for node in nodes.values())
        failed = sum(node.is_terminated and not node.is_finished_ok for node in nodes.values())
        state = (finished, failed, len(in_flight))
        if state != last:
            print(f'{time.strftime("%H:%M:%S")}  {finished} done, {failed} failed, {len(in_flight)} running, '
                  f'{len(pending)} waiting', flush=True)
            last = state
        if not pending and not in_flight:
            return nodes
        time.sleep(poll)
