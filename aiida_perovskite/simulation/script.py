"""The LAMMPS input of one MD segment: minimisation, or NPT up to an absolute step.

A segment never counts steps itself: it runs ``run TARGET upto``, so a segment
that starts from a restart written at step 12,345 runs exactly the steps left
to TARGET. Restart files are named by their step (``restart.<step>``), written
every ``restart_every`` steps and once more at the end; ``read_restart
restart.*`` reads the newest, so a continuation needs no bookkeeping of which
file is latest. ``timer timeout`` stops the run cleanly before the scheduler's
wall-time, and the final ``write_restart`` still runs.
"""

from __future__ import annotations

#: Settings every segment must be given: the run's own (a ladder passes its protocol's, see
#: ``workflows/protocols/ladder.yaml``; the PPPM accuracy is the topology's).
REQUIRED_SETTINGS = (
    'target_step',  # absolute step the segment runs up to
    'timestep',  # fs
    'thermo_every',
    'restart_every',
    'barostat',  # iso, aniso or tri
    'pressure',  # atm
    'tdamp',  # fs
    'pdamp',  # fs
    'seed',
    'kspace_accuracy',
    'shake',  # constrain X-H bonds (with a 2 fs step: the speed setting)
)
#: Settings one stage needs besides: the NPT temperature (K), the minimiser's etol, ftol, maxiter, maxeval.
STAGE_SETTINGS = {'npt': ('temperature',), 'minimise': ('minimise',)}
MINIMISE_SETTINGS = ('etol', 'ftol', 'maxiter', 'maxeval')
#: Optional minimiser settings: ``box_relax`` (None, or iso|aniso|tri: the cell relaxes too, towards the
#: segment's ``pressure`` in atm, with ``fix box/relax``) and ``vmax`` (the largest volume change per
#: iteration of the cell relaxation, a fraction) and ``cycles`` (how many times the cell-free minimisation restarts
#: from where it stopped, each with a fresh reference cell, before a last minimisation of the atoms alone).
MINIMISE_OPTIONAL = {'box_relax': None, 'vmax': 0.001, 'cycles': 3}

#: Settings that describe where a segment sits in a ladder, with their values when not given.
SEGMENT_DEFAULTS = {
    'stage': 'npt',  # 'minimise' or 'npt'
    'create_velocities': False,
    'write_data': False,  # also write the final configuration as a data file
    'quench': False,  # and that configuration minimised in its box (an npt segment that writes data)
    'timeout': None,  # seconds before the segment stops itself (None: no limit)
}

THERMO_STYLE = 'step temp pe ke etotal press vol lx ly lz xy xz yz pxx pyy pzz pxy pxz pyz'
RESTART_PATTERN = 'restart.*'
FINAL_DATA = 'final.data'
#: The final configuration quenched: its atoms minimised in the final box (its inherent structure). The
#: octahedra check reads this one: a bond stretched by a thermal vibration relaxes back, one that broke
#: in the run (a halide pulled into the organic layer) stays broken.
QUENCHED_DATA = 'quenched.data'
#: The segment's log (``lmp -log``).
SEGMENT_LOG = 'log.lammps'
#: The quench writes its own log, so the segment's log holds the MD run alone (and, appended once the quench
#: is done, LAMMPS' closing lines: a segment killed during its quench reads as killed and is resumed).
QUENCH_LOG = 'quench.log'
#: The quench's minimiser (etol, ftol in kcal/mol/A, maxiter, maxeval): a few hundred conjugate-gradient
#: steps take thermal displacements out; it needs no tight convergence.
QUENCH_MINIMISE = (0.0, 1.0e-2, 500, 5000)


def validate(settings: dict) -> dict:
    """``settings`` over :data:`SEGMENT_DEFAULTS`; unknown, missing or impossible settings raise ``ValueError``.

    The run's settings (:data:`REQUIRED_SETTINGS`, :data:`STAGE_SETTINGS`) have no defaults here:
    a segment is always given them complete (by the ladder, from its protocol).
    """
    known = {*REQUIRED_SETTINGS, *SEGMENT_DEFAULTS, *(key for keys in STAGE_SETTINGS.values() for key in keys)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ValueError(f'unknown segment setting(s) {unknown}; known: {sorted(known)}')
    merged = {**SEGMENT_DEFAULTS, **settings}
    if merged['stage'] not in STAGE_SETTINGS:
        raise ValueError(f'stage must be minimise or npt, not {merged["stage"]!r}')
    missing = [key for key in (*REQUIRED_SETTINGS, *STAGE_SETTINGS[merged['stage']]) if key not in merged]
    missing += [f'minimise.{key}' for key in MINIMISE_SETTINGS
                if merged['stage'] == 'minimise' and 'minimise' in merged and key not in merged['minimise']]
    if missing:
        raise ValueError(f'missing segment setting(s) {missing}')
    if merged['stage'] == 'minimise':
        extra = sorted(set(merged['minimise']) - set(MINIMISE_SETTINGS) - set(MINIMISE_OPTIONAL))
        if extra:
            raise ValueError(f'unknown minimise setting(s) {extra}; known: '
                             f'{sorted((*MINIMISE_SETTINGS, *MINIMISE_OPTIONAL))}')
        if merged['minimise'].get('box_relax') not in (None, 'iso', 'aniso', 'tri'):
            raise ValueError(f'minimise.box_relax must be iso, aniso or tri, not {merged["minimise"]["box_relax"]!r}')
    if merged['quench'] and not (merged['write_data'] and merged['stage'] == 'npt'):
        raise ValueError('quench needs an npt segment that writes its final configuration (write_data)')
    if merged['barostat'] not in ('iso', 'aniso', 'tri'):
        raise ValueError(f'barostat must be iso, aniso or tri, not {merged["barostat"]!r}')
    for key in ('target_step', 'thermo_every', 'restart_every'):
        if int(merged[key]) < (0 if key == 'target_step' else 1):
            raise ValueError(f'{key} must be positive, not {merged[key]}')
    return merged


def segment_script(
    settings: dict, from_restart: bool, system_file: str = 'forcefield.lmp', coefficients_file: str = 'coefficients.lmp'
) -> str:
    """The LAMMPS input for one segment.

    :param from_restart: continue from the newest ``restart.*`` in the working folder (pair
        coefficients come again from ``coefficients_file``: restart files do not keep them for
        hybrid pair styles); otherwise set the system up with ``include system_file``.
    """
    s = validate(settings)
    lines = ['# One segment of a temperature ladder, written by aiida-perovskite.']
    if from_restart:
        lines += [f'read_restart {RESTART_PATTERN}', f'include {coefficients_file}',
                  f'kspace_style pppm {s["kspace_accuracy"]:g}']
    else:
        lines += [f'include {system_file}', f'kspace_style pppm {s["kspace_accuracy"]:g}']
    lines += [
        'neighbor 2.0 bin',
        'neigh_modify delay 0 every 1 check yes',
        f'timestep {s["timestep"]}',
        f'thermo_style custom {THERMO_STYLE}',
        'thermo_modify norm no flush yes',
        f'thermo {int(s["thermo_every"])}',
    ]
    if s['timeout']:
        lines.append(f'timer timeout {int(s["timeout"])} every 10')
    if s['shake']:
        lines.append('fix constrain all shake 1.0e-4 20 0 m 1.1')  # before the barostat (LAMMPS 2025)
    if s['stage'] == 'minimise':
        m = {**MINIMISE_OPTIONAL, **s['minimise']}
        minimize = f'minimize {m["etol"]:g} {m["ftol"]:g} {int(m["maxiter"])} {int(m["maxeval"])}'
        lines.append('min_style cg')
        if m['box_relax']:
            # The cell relaxes with the atoms (towards the segment's pressure). fix box/relax measures
            # strain from the cell it starts from, so one minimisation often stops with "linesearch
            # alpha is zero" far from the minimum; restarting it from where it stopped (a fresh
            # reference cell each cycle) is what the LAMMPS manual advises.
            for _ in range(int(m['cycles'])):
                lines += [f'fix relax all box/relax {m["box_relax"]} {s["pressure"]} vmax {m["vmax"]:g}',
                          minimize, 'unfix relax']
        lines += [minimize, 'reset_timestep 0']
    else:
        temperature = float(s['temperature'])
        if s['create_velocities']:
            lines.append(f'velocity all create {temperature} {int(s["seed"])} dist gaussian mom yes rot yes')
        lines += [
            f'fix integrate all npt temp {temperature} {temperature} {s["tdamp"]} '
            f'{s["barostat"]} {s["pressure"]} {s["pressure"]} {s["pdamp"]}',
            f'restart {int(s["restart_every"])} {RESTART_PATTERN}',
            f'run {int(s["target_step"])} upto',
        ]
    lines.append(f'write_restart {RESTART_PATTERN}')
    if s['write_data']:
        lines.append(f'write_data {FINAL_DATA} nocoeff')
    if s['quench']:
        # After the restart and the final frame, so a quench that is killed costs nothing but itself.
        # Its own log keeps the minimiser's rows and steps out of the segment's thermo; no restart
        # files (the minimiser advances the step past the target); no timeout, since the run before
        # may have spent it and the quench takes seconds.
        lines += [f'log {QUENCH_LOG}', 'timer timeout off', 'restart 0', 'unfix integrate']
        if s['shake']:
            lines.append('unfix constrain')
        lines += ['min_style cg', 'minimize {:g} {:g} {} {}'.format(*QUENCH_MINIMISE),
                  f'write_data {QUENCHED_DATA} nocoeff', f'log {SEGMENT_LOG} append']
    return '\n'.join(lines) + '\n'
