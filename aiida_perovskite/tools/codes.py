"""Register the chemistry codes on a computer, and find them again."""

from __future__ import annotations

import os
import pathlib

from aiida import orm

#: The tools the plugin runs, with the calculation plugin each serves.
TOOLS = {
    'antechamber': 'perovskite.antechamber',
    'parmchk2': 'perovskite.parmchk2',
    'tleap': 'perovskite.tleap',
    'lammps': 'perovskite.lammps',
    # This virtualenv's Python: the calculation runs ``python -m aiida_perovskite.mlip.driver``.
    'mlip': 'perovskite.mlip',
    # The same Python: the ladder's segments run by OpenMM (``python -m aiida_perovskite.simulation.openmm_segment``).
    'openmm': 'perovskite.openmm',
}
#: The tools a classical material run needs (``run``, ``validate``, ``build --relax``): a computer registered
#: without the MLIP driver (a cluster ``--config`` that lists only these) still runs them.
CLASSICAL_TOOLS = ('antechamber', 'parmchk2', 'tleap', 'lammps')
#: The program of each tool, where its name differs (see :func:`aiida_perovskite.toolchain.executable`).
PROGRAMS = {'lammps': 'lmp', 'mlip': 'python', 'openmm': 'python'}


def ranks_per_run(computer: orm.Computer, concurrent: int = 1) -> int:
    """MPI ranks for one LAMMPS run on ``computer`` when ``concurrent`` runs share it (``--mpiprocs auto``).

    A computer whose scheduler queues jobs (SLURM, PBS...) gives every job its own allocation: each run
    gets the computer's ``mpiprocs_per_machine`` (1 if unset). A computer with the ``core.direct``
    scheduler runs its jobs side by side on the same cores: they are shared out, at least one rank each
    (its ``mpiprocs_per_machine``, else this machine's core count when it is local).
    """
    cores = computer.get_default_mpiprocs_per_machine()
    if computer.scheduler_type != 'core.direct':
        return max(1, int(cores or 1))
    if not cores:
        cores = len(os.sched_getaffinity(0)) if computer.transport_type == 'core.local' else 1
    return max(1, int(cores) // max(1, int(concurrent)))


def local_prepend_text() -> str:
    """Shell lines that give a job the environment of the tools installed by ``make install``."""
    from aiida_perovskite.toolchain import environment

    # The job's own PATH and LD_LIBRARY_PATH stay after the tool folders.
    base = {'PATH': '${PATH}', 'LD_LIBRARY_PATH': '${LD_LIBRARY_PATH}'}
    lines = [f'export {key}="{value}"' for key, value in environment(base=base).items()]
    return '\n'.join(lines + ['export LD_LIBRARY_PATH="${LD_LIBRARY_PATH%:}"'])


def register_code(
    computer: orm.Computer, tool: str, executable: str, prepend_text: str = '', label: str | None = None,
    replace_moved: bool = False,
) -> orm.InstalledCode:
    """Store (or return the existing) code ``label@computer`` for ``tool``.

    :param replace_moved: for this machine's own tools: an existing code whose executable no longer exists here
        (the virtualenv it came from was deleted or made again elsewhere) is relabelled ``label-moved-PK`` (its
        calculations keep it) and a code of ``executable`` takes the label. A code whose executable exists is
        kept, even if it is another one (someone registered their own build under the label).
    """
    label = label or tool
    existing = orm.QueryBuilder().append(orm.Computer, filters={'id': computer.pk}, tag='computer').append(
        orm.InstalledCode, with_computer='computer', filters={'label': label}
    ).first(flat=True)
    if (existing is not None and replace_moved and str(existing.filepath_executable) != str(executable)
            and not pathlib.Path(str(existing.filepath_executable)).exists()):
        existing.label = f'{label}-moved-{existing.pk}'
        existing = None
    if existing is not None:
        return existing
    code = orm.InstalledCode(
        computer=computer,
        filepath_executable=str(executable),
        label=label,
        default_calc_job_plugin=TOOLS.get(tool),
        prepend_text=prepend_text,
        description=f'{tool} registered by aiida-perovskite',
    )
    return code.store()


def register_local_codes(computer: orm.Computer) -> dict[str, orm.InstalledCode]:
    """Register every tool installed in this virtualenv on ``computer`` (a local one)."""
    from aiida_perovskite.toolchain import executable

    prepend = local_prepend_text()
    return {tool: register_code(computer, tool, executable(PROGRAMS.get(tool, tool)), prepend, replace_moved=True)
            for tool in TOOLS}


def load_codes(computer: str | None = None, tools=tuple(TOOLS)) -> dict[str, orm.AbstractCode]:
    """The registered code of each of ``tools`` (``tool@computer``; the first found when no computer is named)."""
    codes = {}
    for tool in tools:
        builder = orm.QueryBuilder().append(orm.InstalledCode, filters={'label': tool}, tag='code', project='*')
        if computer:
            builder.append(orm.Computer, with_node='code', filters={'label': computer})
        found = builder.first(flat=True)
        if found is None:
            where = f' on {computer}' if computer else ''
            raise LookupError(f'no code {tool!r}{where}: run `aiida-perovskite setup` first')
        codes[tool] = found
    return codes


#: The keys of the ``computer`` section of a ``setup --config`` file.
COMPUTER_KEYS = ('label', 'hostname', 'transport', 'scheduler', 'work_dir', 'mpirun_command', 'mpiprocs_per_machine',
                 'minimum_job_poll_interval', 'prepend_text', 'configure', 'description')


def check_config(config) -> None:
    """Check the shape of a ``setup --config`` document (see :func:`register_from_config`) before anything is made.

    :raises ValueError: one sentence naming the first problem (a missing section or key, an unknown key or
        tool, a value of the wrong kind, a transport or scheduler plugin that is not installed).
    """
    from aiida.plugins import SchedulerFactory, TransportFactory

    if not isinstance(config, dict):
        raise ValueError(f'the config must be a mapping with a computer and a codes section, not {type(config).__name__}')
    unknown = sorted(set(config) - {'computer', 'codes'})
    if unknown:
        raise ValueError(f'unknown section(s) {", ".join(map(str, unknown))}; known: computer, codes')
    computer = config.get('computer')
    if not isinstance(computer, dict) or not isinstance(computer.get('label'), str) or not computer['label'].strip():
        raise ValueError('the config needs a computer section with a label (computer: {label: NAME, hostname: ...})')
    unknown = sorted(set(computer) - set(COMPUTER_KEYS))
    if unknown:
        raise ValueError(f'unknown computer key(s) {", ".join(map(str, unknown))}; known: {", ".join(COMPUTER_KEYS)}')
    if not isinstance(computer.get('configure', {}), dict):
        raise ValueError('computer.configure must be a mapping of the transport\'s parameters (e.g. {username: me})')
    for key in ('mpiprocs_per_machine', 'minimum_job_poll_interval'):
        if key in computer:
            try:
                float(computer[key])
            except (TypeError, ValueError):
                raise ValueError(f'computer.{key} must be a number, not {computer[key]!r}') from None
    for key, factory in (('transport', TransportFactory), ('scheduler', SchedulerFactory)):
        if key in computer:
            try:
                factory(str(computer[key]))
            except Exception:  # MissingEntryPointError and the like
                raise ValueError(f'computer.{key} {computer[key]!r} is not an installed AiiDA {key} plugin '
                                 f'(e.g. core.local, core.ssh; `verdi plugin list aiida.{key}s`)') from None
    codes = config.get('codes', {})
    if not isinstance(codes, dict):
        raise ValueError('codes must be a mapping of tool names to {executable: PATH, prepend_text: ...}')
    for tool, code in codes.items():
        if tool not in TOOLS:
            raise ValueError(f'unknown tool {tool!r} in the config; known: {", ".join(TOOLS)}')
        if not isinstance(code, dict) or not isinstance(code.get('executable'), str):
            raise ValueError(f'codes.{tool} needs an executable (codes: {{{tool}: {{executable: PATH}}}})')


def register_from_config(config: dict) -> tuple[orm.Computer, dict[str, orm.InstalledCode]]:
    """Set up (or reuse) the computer described by ``config`` and register the codes it lists.

    ``configure`` holds the transport's authentication parameters (``verdi computer configure
    core.ssh --help`` lists them: ``port``, ``key_policy``, ``look_for_keys``...). ``config``
    (from YAML)::

        computer:
          label: cluster
          hostname: login.cluster.example
          transport: core.ssh          # core.local for this machine
          scheduler: core.slurm        # core.direct for no scheduler
          work_dir: /scratch/{username}/aiida
          mpirun_command: srun
          mpiprocs_per_machine: 64
          minimum_job_poll_interval: 30  # seconds between two queue checks (AiiDA's default: 10)
          prepend_text: ''             # shell lines for every job on the computer
          configure: {username: me, port: 22, key_filename: ~/.ssh/id_ed25519, safe_interval: 5}
        codes:
          antechamber: {executable: /opt/amber/bin/antechamber, prepend_text: 'module load amber'}
          parmchk2: {executable: /opt/amber/bin/parmchk2, prepend_text: 'module load amber'}
          tleap: {executable: /opt/amber/bin/tleap, prepend_text: 'module load amber'}
          mlip: {executable: /home/me/venv/bin/python}  # a Python with aiida-perovskite installed (a GPU node's)
    """
    from aiida.common.exceptions import NotExistent

    check_config(config)
    spec = dict(config['computer'])
    label = spec['label']
    try:
        computer = orm.load_computer(label)
    except NotExistent:
        computer = orm.Computer(
            label=label,
            hostname=spec.get('hostname', 'localhost'),
            transport_type=spec.get('transport', 'core.local'),
            scheduler_type=spec.get('scheduler', 'core.direct'),
            workdir=spec.get('work_dir', '/tmp/aiida'),
            description=spec.get('description', 'registered by aiida-perovskite'),
        ).store()
        if 'mpirun_command' in spec:
            command = spec['mpirun_command']
            computer.set_mpirun_command(command.split() if isinstance(command, str) else list(command))
        if 'mpiprocs_per_machine' in spec:
            computer.set_default_mpiprocs_per_machine(int(spec['mpiprocs_per_machine']))
        if 'minimum_job_poll_interval' in spec:
            computer.set_minimum_job_poll_interval(float(spec['minimum_job_poll_interval']))
        computer.set_prepend_text(spec.get('prepend_text', ''))
    if not computer.is_configured:
        configure = dict(spec.get('configure', {}))
        if configure.get('key_filename'):  # paramiko takes the path as it is: ~ would not be expanded
            configure['key_filename'] = os.path.expanduser(configure['key_filename'])
        computer.configure(**configure)

    codes = {}
    for tool, code in config.get('codes', {}).items():
        if tool not in TOOLS:
            raise ValueError(f'unknown tool {tool!r} in the config; known: {", ".join(TOOLS)}')
        codes[tool] = register_code(computer, tool, code['executable'], code.get('prepend_text', ''))
    return computer, codes
