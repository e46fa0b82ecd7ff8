"""Register the chemistry codes on a computer, and find them again."""

from __future__ import annotations

from aiida import orm

#: The tools the plugin runs, with the calculation plugin each serves.
TOOLS = {
    'antechamber': 'perovskite.antechamber',
    'parmchk2': 'perovskite.parmchk2',
    'tleap': 'perovskite.tleap',
}


def local_prepend_text() -> str:
    """Shell lines that give a job the environment of the tools installed by ``make install``."""
    from aiida_perovskite.toolchain import environment

    # The job's own PATH and LD_LIBRARY_PATH stay after the tool folders.
    base = {'PATH': '${PATH}', 'LD_LIBRARY_PATH': '${LD_LIBRARY_PATH}'}
    lines = [f'export {key}="{value}"' for key, value in environment(base=base).items()]
    return '\n'.join(lines + ['export LD_LIBRARY_PATH="${LD_LIBRARY_PATH%:}"'])


def register_code(
    computer: orm.Computer, tool: str, executable: str, prepend_text: str = '', label: str | None = None
) -> orm.InstalledCode:
    """Store (or return the existing) code ``label@computer`` for ``tool``."""
    label = label or tool
    existing = orm.QueryBuilder().append(orm.Computer, filters={'id': computer.pk}, tag='computer').append(
        orm.InstalledCode, with_computer='computer', filters={'label': label}
    ).first(flat=True)
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
    return {tool: register_code(computer, tool, executable(tool), prepend) for tool in TOOLS}


def load_codes(computer: str | None = None) -> dict[str, orm.AbstractCode]:
    """The registered code of each tool (``tool@computer``; the first one found when no computer is named)."""
    codes = {}
    for tool in TOOLS:
        builder = orm.QueryBuilder().append(orm.InstalledCode, filters={'label': tool}, tag='code', project='*')
        if computer:
            builder.append(orm.Computer, with_node='code', filters={'label': computer})
        found = builder.first(flat=True)
        if found is None:
            where = f' on {computer}' if computer else ''
            raise LookupError(f'no code {tool!r}{where}: run `aiida-perovskite setup` first')
        codes[tool] = found
    return codes
