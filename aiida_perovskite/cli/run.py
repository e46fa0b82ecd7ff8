"""``aiida-perovskite run`` and ``status``: parametrisation and the ladder for many CIFs, in a group."""

from __future__ import annotations

import click

from .common import Batch, exit_label, load_profile, load_profile_and_codes
from .params import (
    CIF_PATHS,
    COMPUTER,
    DAEMON,
    MPIPROCS,
    PROFILE,
    PROTOCOL,
    expand_paths,
    group_option,
    reading_options,
)


@click.command('run')
@CIF_PATHS
@PROTOCOL
@group_option(default='perovskite', show_default=True, help='Group the materials go in.')
@DAEMON
@click.option('--wait/--no-wait', default=True, show_default=True,
              help='With --daemon: show progress of the group until the materials of this command have ended (Ctrl-C stops '
                   'watching, not the work), or return as soon as all are submitted.')
@click.option('--max-running', type=click.IntRange(min=1),
              help='With --daemon --wait: submit at most this many materials at a time, the next as one ends '
                   '(default: all at once).')
@click.option('--workers', type=click.IntRange(min=1), default=1, show_default=True,
              help='Daemon workers to start if the daemon is not running yet.')
@click.option('--poll', type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help='Seconds between progress checks while waiting.')
@MPIPROCS
@click.option('--threads', type=click.IntRange(min=1), default=1, show_default=True, help='OpenMP threads per rank.')
@click.option('--walltime', type=click.IntRange(min=60), help='Wall-time of each LAMMPS run in seconds.')
@click.option('--engine', type=click.Choice(['lammps', 'openmm']), default='lammps', show_default=True,
              help='MD engine of the ladder: LAMMPS, or OpenMM (its fastest platform: CUDA on a GPU computer) on the '
                   'same force field.')
@click.option('--params', 'parameter_set',
              help='Parameter set by name, or a preference list "A, B, auto", instead of the protocol\'s (which takes '
                   'only sets validated against experiment, and refuses e.g. Pb-Br and Pb-Cl today): naming a set uses '
                   'it anyway, and every run is still checked for broken physics.')
@reading_options
@COMPUTER
@PROFILE
def cmd_run(paths, protocol, group_label, daemon, wait, max_running, workers, poll, mpiprocs, threads, walltime,
            engine, parameter_set, reading, computer, profile_name):
    """Parametrise each CIF in PATHS and run its temperature ladder (MaterialWorkChain).

    Materials already in the group with the same CIF content and protocol,
    finished, still running or flagged with broken physics, are skipped, so the
    command can be stopped and run again without redoing work. Each CIF is
    decomposed first: a bad one (unreadable, disordered, missing hydrogens,
    unsupported elements...) is reported on one line (file, error class, message)
    and not run, and the others go on; a failing material does not stop the
    others either. A run whose octahedra break or whose volume runs away ends
    flagged (broken physics), with its outputs. The exit status is 1 if any CIF
    or material failed.
    """
    from aiida import orm
    from aiida.engine import submit
    from aiida.manage import get_manager

    from aiida_perovskite.structure.decompose import inspect_cif, reading_notes
    from aiida_perovskite.tools.materials import (
        cif_md5,
        is_broken_physics,
        material_builder,
        materials_by_key,
        needs_running,
        register_material,
    )

    if max_running and not (daemon and wait):
        raise click.UsageError('--max-running needs --daemon and waiting (not --no-wait)')
    from aiida_perovskite.tools.codes import CLASSICAL_TOOLS

    codes = load_profile_and_codes(profile_name, computer, CLASSICAL_TOOLS + (('openmm',) if engine == 'openmm' else ()))
    if engine == 'openmm':  # the ladder's MD code: its calculation plugin chooses the engine of every segment
        codes['lammps'] = codes.pop('openmm')
    group, _ = orm.Group.collection.get_or_create(group_label)
    if mpiprocs == 'auto':  # one at a time here; with the daemon, all of them (or --max-running) at once
        from aiida_perovskite.tools.codes import ranks_per_run

        concurrent = 1 if not daemon else (max_running or max(1, sum(1 for _ in expand_paths(paths))))
        mpiprocs = max(1, ranks_per_run(codes['lammps'].computer, concurrent) // threads)
    options = {'resources': {'num_machines': 1, 'num_mpiprocs_per_machine': mpiprocs}}
    if threads > 1:
        options['resources']['num_cores_per_mpiproc'] = threads
    if walltime:
        options['max_wallclock_seconds'] = walltime

    existing = materials_by_key(group)
    batch = Batch(paths)
    watched, queue = [], []  # with the daemon: (path, node) to follow, (path, md5, builder) still to submit
    for path in batch:
        with batch.step(path):
            md5 = cif_md5(path)
            previous = existing.get((md5, protocol, parameter_set))
            if not needs_running(previous):
                if is_broken_physics(previous):  # ran to its end and broke: running it again would not help
                    batch.fail(path, exit_label(previous), f'MaterialWorkChain<{previous.pk}> already ran, skipped: '
                                                           f'{previous.exit_message}')
                    continue
                click.echo(f'{path}: {"done" if previous.is_finished_ok else "running"} already '
                           f'(MaterialWorkChain<{previous.pk}>), skipped')
                if not previous.is_terminated:
                    watched.append((path, previous))
                continue
            # Decomposed here first: a bad CIF (unreadable, disordered, missing hydrogens, unknown elements...)
            # is named in one line and never becomes a material; CifData's own parser (PyCifRW) would print
            # tracebacks for a truncated file before the work chain failed.
            for note in reading_notes(inspect_cif(path, **reading).reading):
                click.echo(f'{path}: {note}')
            overrides = {'parametrise': {'parameter_set': parameter_set}} if parameter_set else {}
            if reading:
                overrides.setdefault('parametrise', {})['decompose_parameters'] = reading
            builder = material_builder(path, codes, protocol, options, overrides or None)
            if daemon:
                queue.append((path, md5, builder))
                continue
            runner = get_manager().create_runner(communicator=None)  # a local runner: no broker needed
            process = runner.instantiate_process(builder)
            register_material(process.node, group, md5, protocol, path, parameter_set)  # in the group first: safe to interrupt
            try:
                runner.run(process)
            except Exception as error:  # one material's crash must not stop the batch
                batch.fail(path, type(error).__name__, f'MaterialWorkChain<{process.node.pk}> crashed: {error}')
                continue
            node = process.node
            if node.is_finished_ok:
                click.echo(f'{path}: done (MaterialWorkChain<{node.pk}>), {len(node.outputs.ladder.summaries)} temperatures')
            else:
                batch.fail(path, exit_label(node), f'MaterialWorkChain<{node.pk}> [{node.exit_status}] {node.exit_message}')

    if daemon and (queue or watched):  # nothing to submit or follow: leave the daemon as it is
        start_daemon(workers)

    if daemon:
        def submit_one(path, md5, builder):
            node = submit(builder)
            register_material(node, group, md5, protocol, path, parameter_set)
            click.echo(f'{path}: submitted MaterialWorkChain<{node.pk}>')
            return node

        if not wait:
            for item in queue:
                submit_one(*item)
        else:
            late = wait_for_materials(group, watched, queue, submit_one, max_running=max_running, poll=poll)
            batch.exit(late)
    batch.exit()


def wait_for_materials(group, watched, queue, submit_one, max_running=None, poll=5.0, echo=click.echo) -> int:
    """Submit the queued materials (at most ``max_running`` at a time) and print progress until all have ended.

    :param watched: ``(path, node)`` of materials of this command already under way.
    :param queue: ``(path, md5, builder)`` still to submit, in order; ``submit_one(*item)`` submits one.
    :returns: how many of this command's materials failed. Ctrl-C stops the waiting (exit status 130),
        not the materials already submitted; the queued ones are submitted by running the command again.
    """
    import time

    from aiida_perovskite.tools.report import group_materials, group_progress

    mine = list(watched)
    queue = list(queue)
    reported, failures, last_line = set(), 0, None
    try:
        while True:
            for path, node in mine:
                if node.pk in reported or not node.is_terminated:
                    continue
                reported.add(node.pk)
                if node.is_finished_ok:
                    done, _ = _temperatures(node)
                    echo(f'{path}: done (MaterialWorkChain<{node.pk}>), {done} temperatures')
                else:
                    failures += 1
                    echo(f'{path}: {exit_label(node)}: MaterialWorkChain<{node.pk}> [{node.exit_status}] '
                         f'{node.exit_message or node.process_state.value}', err=True)
            running = sum(not node.is_terminated for _, node in mine)
            while queue and (max_running is None or running < max_running):
                mine.append((queue[0][0], submit_one(*queue.pop(0))))
                running += 1
            counts = group_progress(group_materials(group))
            queued_temperatures = sum(_ladder_length(item[2]) for item in queue)
            line = (f'materials {counts["finished"]}/{counts["materials"] + len(queue)} done, {counts["failed"]} failed, '
                    f'{counts["running"]} running' + (f', {len(queue)} queued' if queue else '') +
                    f'; temperatures {counts["temperatures_done"]}/{counts["temperatures_total"] + queued_temperatures}' +
                    (f'; now: {", ".join(counts["now"][:4])}' if counts['now'] else ''))
            if line != last_line:
                echo(f'{time.strftime("%H:%M:%S")} {line}')
                last_line = line
            if not queue and all(node.is_terminated for _, node in mine):  # the group may hold others' work
                return failures
            time.sleep(poll)
    except KeyboardInterrupt:
        under_way = sum(not node.is_terminated for _, node in mine)
        echo(f'\nstopped waiting: {under_way} material(s) go on in the daemon (aiida-perovskite status --group '
             f'{group.label})' + (f'; {len(queue)} not submitted yet: run the same command again' if queue else ''),
             err=True)
        raise SystemExit(130) from None


def _ladder_length(builder) -> int:
    """Temperatures of a material not submitted yet (0 when unknown)."""
    try:
        return len(builder.ladder.parameters['temperatures'])
    except Exception:
        return 0


def _temperatures(node) -> tuple:
    from aiida_perovskite.tools.report import temperature_progress

    return temperature_progress(node)


def start_daemon(workers: int = 1) -> None:
    """Start the loaded profile's daemon if it is not answering (:func:`aiida_perovskite.tools.daemon.ensure_daemon`)."""
    from aiida_perovskite.tools.daemon import DaemonError, ensure_daemon

    try:
        profile = ensure_daemon(workers)
    except DaemonError as error:
        raise click.ClickException(str(error)) from None
    if profile is not None:
        click.echo(f'Started the daemon of profile {profile} (after `verdi process repair`).')


@click.command('status')
@group_option(default='perovskite', show_default=True)
@PROFILE
def cmd_status(group_label, profile_name):
    """Per material of the group: state, and how far up the temperature ladder it is."""
    from aiida import orm
    from tabulate import tabulate

    from aiida_perovskite.tools.report import material_state

    load_profile(profile_name)
    try:
        group = orm.load_group(label=group_label)  # a bare string that looks like hex ('abc') would be read as a UUID
    except Exception as error:
        raise click.ClickException(f'no group {group_label!r}: {error}') from None
    rows = []
    for node in sorted(group.nodes, key=lambda n: n.pk):
        if not isinstance(node, orm.WorkflowNode):
            continue
        ladder = next((child for child in node.called if child.process_type.endswith('perovskite.ladder')), None)
        total = len(ladder.inputs.parameters['temperatures']) if ladder else None
        done = ladder.base.extras.get('temperatures_done', 0) if ladder else 0
        current = ladder.base.extras.get('current_temperature', None) if ladder else None
        state = material_state(node)
        if state.startswith('failed'):
            state = f'failed [{node.exit_status}]'
        stage = 'ladder' if ladder else 'parametrising' if not node.is_terminated else '-'
        message = node.exit_message or ''
        rows.append([node.pk, node.base.extras.get('cif_file', node.inputs.cif.filename), node.base.extras.get('protocol', ''),
                     state, stage, f'{done}/{total}' if total else '-', f'{current} K' if current else '',
                     _targets_summary(node), message if state == 'broken physics' else message[:60]])  # the whole reason
    click.echo(tabulate(rows, headers=['pk', 'cif', 'protocol', 'state', 'stage', 'temperatures', 'now at',
                                       'Cp(U) [flags]', 'message'], disable_numparse=True))  # print values as formatted
    finished = sum(row[3] == 'finished' for row in rows)
    broken = sum(row[3] == 'broken physics' for row in rows)
    failed = sum(row[3].startswith('failed') or (row[3] in ('excepted', 'killed')) for row in rows)
    click.echo(f'{len(rows)} material(s): {finished} finished, ' + (f'{broken} broken physics (flagged), ' if broken else '')
               + f'{failed} failed, {len(rows) - finished - broken - failed} in progress')


def _targets_summary(node) -> str:
    """``Cp(U)`` in kcal/mol/K per atom and the raised quality flags of a finished (or broken-physics) material,
    if it has targets."""
    from aiida_perovskite.tools.materials import is_broken_physics

    broken = is_broken_physics(node)
    if not (node.is_finished_ok or broken) or 'targets' not in node.outputs:
        return ''
    targets = node.outputs.targets.get_dict()
    flags = ['broken_physics'] * broken + [name for name, raised in targets['flags'].items() if raised]
    value = '-' if targets['cp_u'] is None else f'{targets["cp_u"]:.3e}'  # None: one temperature, no slope
    return value + (f' [{", ".join(flags)}]' if flags else '')
