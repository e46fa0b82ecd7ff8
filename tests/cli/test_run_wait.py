"""``aiida-perovskite run --daemon`` waiting: progress lines, throttled submission, Ctrl-C, unreadable CIFs.

The waiting loop is driven with stored stand-in work chain nodes whose state the test changes
between polls, so no daemon or LAMMPS run is needed (the real daemon is exercised by
tests/workflows/test_daemon_restart.py and by ``make demo``).
"""

import io

import pytest
from aiida import orm
from aiida.common.links import LinkType
from aiida.engine import ProcessState

from aiida_perovskite.cli import run as run_module


def material(group, name, temperatures=2):
    """A stored MaterialWorkChain stand-in in ``group``, running, with a ladder that has done no temperature."""
    node = orm.WorkChainNode()
    node.set_process_label('MaterialWorkChain')
    node.set_process_state(ProcessState.RUNNING)
    parameters = orm.Dict({'temperatures': [250.0 + 50 * i for i in range(temperatures)]}).store()
    node.base.links.add_incoming(parameters, LinkType.INPUT_WORK, 'ladder__parameters')
    cif = orm.CifData(file=io.BytesIO(b'data_stand_in\n'), filename=name, parse_policy='lazy').store()
    node.base.links.add_incoming(cif, LinkType.INPUT_WORK, 'cif')
    node.store()
    node.base.extras.set_many({'cif_file': f'cifs/{name}', 'protocol': 'fast'})
    ladder = orm.WorkChainNode()
    ladder.set_process_type('aiida.workflows:perovskite.ladder')
    ladder.set_process_state(ProcessState.RUNNING)
    ladder.base.links.add_incoming(node, LinkType.CALL_WORK, 'ladder')
    ladder.base.links.add_incoming(parameters, LinkType.INPUT_WORK, 'parameters')
    ladder.store()
    ladder.base.extras.set_many({'temperatures_done': 0, 'current_temperature': 250.0})
    group.add_nodes(node)
    return node, ladder


def finish(node, ladder, status=0):
    ladder.base.extras.set_many({'temperatures_done': 2 if status == 0 else 1, 'current_temperature': None})
    node.set_process_state(ProcessState.FINISHED)
    node.set_exit_status(status)
    if status:
        node.set_exit_message('The temperature ladder failed: [375] boom')


def test_wait_prints_progress_until_the_materials_end(aiida_profile, monkeypatch):
    group = orm.Group(label='wait-progress').store()
    first, first_ladder = material(group, 'a.cif')
    second, second_ladder = material(group, 'b.cif')
    lines = []

    def echo(message='', err=False):
        lines.append(message)

    polls = iter([
        lambda: first_ladder.base.extras.set_many({'temperatures_done': 1, 'current_temperature': 300.0}),
        lambda: finish(first, first_ladder),
        lambda: finish(second, second_ladder, status=377),
    ])
    monkeypatch.setattr('time.sleep', lambda seconds: next(polls)())
    failures = run_module.wait_for_materials(group, [('a.cif', first), ('b.cif', second)], [], None, echo=echo)

    assert failures == 1
    progress = [line for line in lines if 'materials ' in line]
    assert 'materials 0/2 done, 0 failed, 2 running; temperatures 0/4; now: a.cif at 250 K, b.cif at 250 K' in progress[0]
    assert 'temperatures 1/4' in progress[1] and 'a.cif at 300 K' in progress[1]
    assert 'materials 1/2 done, 0 failed, 1 running; temperatures 2/4' in progress[2]
    assert 'materials 1/2 done, 1 failed, 0 running' in progress[-1]
    assert 'a.cif: done' in '\n'.join(lines) and f'b.cif: ERROR_SUB_PROCESS_FAILED_LADDER: MaterialWorkChain<{second.pk}> [377]' in '\n'.join(lines)


def test_wait_submits_at_most_max_running_at_a_time(aiida_profile, monkeypatch):
    group = orm.Group(label='wait-throttled').store()
    submitted = []

    def submit_one(path, md5, builder):
        node, ladder = material(group, path)
        submitted.append((node, ladder))
        return node

    def step(seconds):
        running = [(node, ladder) for node, ladder in submitted if not node.is_terminated]
        assert len(running) <= 2  # never more than --max-running at once
        finish(*running[0])

    monkeypatch.setattr('time.sleep', step)
    queue = [(f'm{i}.cif', f'md5-{i}', None) for i in range(5)]
    lines = []
    failures = run_module.wait_for_materials(group, [], queue, submit_one, max_running=2,
                                             echo=lambda message='', err=False: lines.append(message))
    assert failures == 0 and len(submitted) == 5
    assert any('3 queued' in line for line in lines)
    assert 'materials 5/5 done' in lines[-1]


def test_ctrl_c_stops_waiting_not_the_work(aiida_profile, monkeypatch):
    group = orm.Group(label='wait-interrupted').store()
    node, _ = material(group, 'a.cif')

    def interrupt(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr('time.sleep', interrupt)
    lines = []
    with pytest.raises(SystemExit) as stopped:
        run_module.wait_for_materials(group, [('a.cif', node)], [('b.cif', 'md5', None)], lambda *item: node,
                                      max_running=1, echo=lambda message='', err=False: lines.append(message))
    assert stopped.value.code == 130
    assert 'stopped waiting: 1 material(s) go on in the daemon' in lines[-1]
    assert '1 not submitted yet' in lines[-1]
    assert not node.is_terminated


def test_unreadable_cif_is_one_line_and_not_run(aiida_profile, aiida_localhost, tmp_path):
    from click.testing import CliRunner

    from aiida_perovskite.builder import alkylammonium, layered_perovskite
    from aiida_perovskite.cli import cmd_root
    from aiida_perovskite.tools.codes import register_local_codes

    register_local_codes(aiida_localhost)
    good = tmp_path / 'good.cif'
    layered_perovskite(alkylammonium(4, diammonium=True), phase='DJ').to(filename=str(good))
    truncated = tmp_path / 'truncated.cif'
    truncated.write_text(good.read_text()[:900])  # cut off in the middle of the atom loop
    result = CliRunner().invoke(cmd_root, ['run', str(truncated), '--group', 'unreadable', '--protocol', 'fast'])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f'{truncated}: UnreadableCifError: ' + result.output.split('UnreadableCifError: ', 1)[1].strip()]
    assert 'truncated' in result.output and 'Traceback' not in result.output
    assert len(orm.load_group(label='unreadable').nodes) == 0


def test_a_finished_attempt_wins_over_a_later_failed_one(aiida_profile):
    from aiida_perovskite.tools.materials import materials_by_key, needs_running

    group = orm.Group(label='attempts').store()
    finished, finished_ladder = material(group, 'a.cif')
    finish(finished, finished_ladder)
    failed, failed_ladder = material(group, 'a.cif')  # e.g. added later by another script
    finish(failed, failed_ladder, status=377)
    for node in (finished, failed):
        node.base.extras.set('cif_md5', 'same')
    chosen = materials_by_key(group)[('same', 'fast', None)]
    assert chosen.pk == finished.pk and not needs_running(chosen)


def test_status_finds_a_group_whose_label_looks_like_hex(aiida_profile):
    from click.testing import CliRunner

    from aiida_perovskite.cli import cmd_root

    group = orm.Group(label='abc').store()
    node, ladder = material(group, 'a.cif')
    result = CliRunner().invoke(cmd_root, ['status', '--group', 'abc'])
    assert result.exit_code == 0, result.output
    assert '1 material(s): 0 finished, 0 failed, 1 in progress' in result.output


def test_a_named_parameter_set_is_its_own_run(aiida_profile, aiida_localhost, tmp_path):
    """``run --params``: the set reaches the parametrisation, and a CIF run with a named set is a different
    material from the same CIF under the protocol's choice (neither is skipped as done because of the other)."""
    from aiida_perovskite.builder import alkylammonium, layered_perovskite
    from aiida_perovskite.tools.codes import register_local_codes
    from aiida_perovskite.tools.materials import material_builder, materials_by_key, register_material

    codes = register_local_codes(aiida_localhost)
    cif = tmp_path / 'ba2pbbr4.cif'
    layered_perovskite(alkylammonium(4), halide='Br').to(filename=str(cif))
    builder = material_builder(cif, codes, 'fast', overrides={'parametrise': {'parameter_set': 'myp-pbbr-uffbr'}})
    assert builder.parametrise.parameter_set.value == 'myp-pbbr-uffbr'
    assert material_builder(cif, codes, 'fast').parametrise.parameter_set.value == 'myp-pbi-uffi, auto'

    group = orm.Group(label='named-sets').store()
    plain, _ = material(group, 'a.cif')
    named, _ = material(group, 'a.cif')
    register_material(plain, group, 'same', 'fast', 'a.cif')
    register_material(named, group, 'same', 'fast', 'a.cif', 'myp-pbbr-uffbr')
    chosen = materials_by_key(group)
    assert chosen[('same', 'fast', None)].pk == plain.pk
    assert chosen[('same', 'fast', 'myp-pbbr-uffbr')].pk == named.pk
    assert named.base.extras.get('parameter_set_request') == 'myp-pbbr-uffbr'
