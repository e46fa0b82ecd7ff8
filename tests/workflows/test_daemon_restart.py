"""Engine restart: stop the daemon mid-ladder, start it again, and nothing finished is run twice.

Runs in its own AiiDA configuration folder with a `verdi presto` profile (SQLite and the
built-in ZeroMQ broker), driven through subprocesses like a user at a terminal would.
"""

import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

BIN = pathlib.Path(sys.executable).parent

SUBMIT = '''
from aiida import orm, load_profile
load_profile('restart')
from aiida.engine import submit
from aiida_perovskite.builder import alkylammonium, layered_perovskite
from aiida_perovskite.tools.codes import load_codes
from aiida_perovskite.workflows.material import MaterialWorkChain
import io
from pymatgen.io.cif import CifWriter
structure = layered_perovskite(alkylammonium(4, diammonium=True), phase='DJ')
cif = orm.CifData(file=io.BytesIO(str(CifWriter(structure)).encode()), filename='bda.cif')
ladder = {'temperatures': [200, 250, 300, 350], 'steps_per_temperature': 4000, 'thermo_every': 100, 'restart_every': 500}
builder = MaterialWorkChain.get_builder_from_protocol(load_codes(), cif, 'fast', overrides={'ladder': ladder})
print(submit(builder).pk)
'''

PROGRESS = '''
import json, sys
from aiida import orm, load_profile
load_profile('restart')
node = orm.load_node(int(sys.argv[1]))
ladders = [c for c in node.called if c.process_type.endswith('perovskite.ladder')]
segments = {}
for ladder in ladders:
    for child in ladder.called:
        if child.process_type.endswith('perovskite.segment'):
            segments.setdefault(child.label, []).append(child.pk)
print(json.dumps({
    'terminated': node.is_terminated, 'ok': node.is_finished_ok, 'message': node.exit_message,
    'done': ladders[0].base.extras.get('temperatures_done', 0) if ladders else 0,
    'segments': segments,
    'summaries': sorted(node.outputs.ladder.summaries) if node.is_finished_ok else [],
}))
'''


def test_daemon_restart_does_not_repeat_finished_temperatures(tmp_path):
    env = {**os.environ, 'AIIDA_PATH': str(tmp_path), 'PATH': f'{BIN}{os.pathsep}{os.environ["PATH"]}'}

    def run(*command, check=True):
        completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        if check and completed.returncode:
            pytest.fail(f'{command} failed:\n{completed.stdout}\n{completed.stderr}')
        return completed.stdout

    def progress(pk):
        return json.loads(run(sys.executable, '-c', PROGRESS, str(pk)).strip().splitlines()[-1])

    def wait(pk, condition, limit):
        start = time.monotonic()
        while time.monotonic() - start < limit:
            state = progress(pk)
            if condition(state):
                return state
            time.sleep(2)
        pytest.fail(f'timed out after {limit} s waiting: {state}')

    run(str(BIN / 'aiida-perovskite'), 'setup', '--profile', 'restart')
    shell = run(sys.executable, '-c', "from aiida import load_profile, orm; load_profile('restart'); "
                "print(orm.load_computer('localhost').get_authinfo(orm.User.collection.get_default())"
                ".get_auth_params()['use_login_shell'])")
    assert shell.strip().splitlines()[-1] == 'False'  # polls must not start login shells (CPU taken from LAMMPS)
    run(str(BIN / 'verdi'), '-p', 'restart', 'daemon', 'start', '1', '--timeout', '60')
    try:
        pk = int(run(sys.executable, '-c', SUBMIT).strip().splitlines()[-1])
        before = wait(pk, lambda s: s['done'] >= 1 or s['terminated'], 300)
        assert not before['terminated'], before
        run(str(BIN / 'verdi'), '-p', 'restart', 'daemon', 'stop', '--timeout', '60')
        stopped = progress(pk)
        # The broker is bundled into the daemon: a task in flight at the stop is lost and
        # `verdi process repair` (daemon stopped) revives it. `aiida-perovskite run --daemon`
        # does the same when it finds the daemon stopped.
        run(str(BIN / 'verdi'), '-p', 'restart', 'process', 'repair')
        run(str(BIN / 'verdi'), '-p', 'restart', 'daemon', 'start', '1', '--timeout', '60')
        after = wait(pk, lambda s: s['terminated'], 600)
    finally:
        run(str(BIN / 'verdi'), '-p', 'restart', 'daemon', 'stop', '--timeout', '60', check=False)

    assert after['ok'], after
    assert after['summaries'] == ['T200', 'T250', 'T300', 'T350']
    # Every segment ran once, and those started before the stop are the very same nodes.
    assert all(len(pks) == 1 for pks in after['segments'].values()), after['segments']
    for label, pks in stopped['segments'].items():
        assert after['segments'][label] == pks
    assert stopped['done'] >= 1 and len(stopped['segments']) < len(after['segments'])
