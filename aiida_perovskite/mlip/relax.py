"""Relax a cell with an MLIP in stages (first under pressure, then at zero), or run a short NPT, with restarts.

Each stage writes its own ASE trajectory, ``<stage name>.traj``, one frame per optimiser step (every
``interval`` steps in NPT), each frame carrying its energy, forces and stress. A run that finds these
files continues from them: a stage whose last frame already meets its criteria is skipped, the stage
that was interrupted or not converged continues from its last frame (appending, so the file holds the
whole history and no step is run twice), later stages start from the previous stage's last frame.

Cell relaxation uses ASE's ``FrechetCellFilter`` with its cell factor set to ``V * stress_tol / fmax``:
the optimiser's force criterion then also holds the stress to about ``stress_tolerance_gpa`` (with the
default factor, the number of atoms, it stops with up to 0.5 GPa left on these cells). Convergence is
checked on the atoms' own forces and the stress against the target pressure, not on the filter's.

A run whose energy, forces or stress become non-finite, or whose volume leaves ``max_volume_change``
of the input, stops and is reported as broken (``status: 'broken'``), never as a success.
"""

from __future__ import annotations

import copy
import math
import pathlib
import time

import numpy as np

#: Every setting of a run, with its value when not given. Pressures in GPa, forces in eV/A, times in fs.
DEFAULTS = {
    'potential': 'chgnet',  # chgnet, sevennet; +d3 adds D3 dispersion
    'dispersion': {},  # D3 settings over potentials.D3_DEFAULTS
    'device': 'cpu',  # cpu, cuda, auto
    'stages': [
        {'name': 'compress', 'kind': 'relax', 'pressure_gpa': 1.0},  # closes the gaps of a built cell
        {'name': 'relax', 'kind': 'relax', 'pressure_gpa': 0.0},
    ],
    'fmax': 0.05,  # eV/A, largest force on an atom
    'stress_tolerance_gpa': 0.05,  # largest stress component off the target pressure
    'max_steps': 300,  # optimiser steps of one relax stage in one run (a restart continues)
    'optimizer': 'FIRE',  # FIRE, BFGS or LBFGS
    'max_volume_change': 0.3,  # |V / V_input - 1| beyond this: broken physics
}
STAGE_KINDS = ('relax', 'npt')
#: Settings of an NPT stage (ASE's Berendsen NPT, anisotropic cell), with their values when not given.
NPT_DEFAULTS = {
    'temperature_k': 300.0,
    'pressure_gpa': 0.0,
    'steps': 100,
    'timestep_fs': 0.5,  # X-H stretches with an MLIP and a Berendsen barostat
    'taut_fs': 100.0,
    'taup_fs': 1000.0,
    'compressibility_per_gpa': 0.05,  # about 1 / bulk modulus of a lead-iodide perovskite
    'interval': 10,  # steps between two trajectory frames
    'seed': 12345,
}
OPTIMIZERS = ('FIRE', 'BFGS', 'LBFGS')


def validate_settings(settings: dict) -> dict:
    """``settings`` over :data:`DEFAULTS` (stages completed from :data:`NPT_DEFAULTS`); ``ValueError`` if wrong."""
    from .potentials import dispersion_settings, parse_name

    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise ValueError(f'unknown setting(s) {unknown}; known: {sorted(DEFAULTS)}')
    merged = copy.deepcopy({**DEFAULTS, **settings})
    parse_name(merged['potential'])
    dispersion_settings(merged['dispersion'])
    if merged['device'] not in ('cpu', 'cuda', 'auto'):
        raise ValueError(f'device must be cpu, cuda or auto, not {merged["device"]!r}')
    if merged['optimizer'] not in OPTIMIZERS:
        raise ValueError(f'optimizer must be one of {OPTIMIZERS}, not {merged["optimizer"]!r}')
    for key in ('fmax', 'stress_tolerance_gpa', 'max_volume_change'):
        if not float(merged[key]) > 0:
            raise ValueError(f'{key} must be positive, not {merged[key]!r}')
    if int(merged['max_steps']) < 1:
        raise ValueError(f'max_steps must be at least 1, not {merged["max_steps"]!r}')
    stages = merged['stages']
    if not stages:
        raise ValueError('at least one stage is needed')
    names = [stage.get('name') for stage in stages]
    if len(set(names)) != len(names) or not all(isinstance(name, str) and name.isidentifier() for name in names):
        raise ValueError(f'stage names must be distinct identifiers (they name the trajectory files), not {names}')
    completed = []
    for stage in stages:
        kind = stage.get('kind', 'relax')
        if kind not in STAGE_KINDS:
            raise ValueError(f'stage {stage["name"]}: kind must be relax or npt, not {kind!r}')
        known = {'name', 'kind', 'pressure_gpa'} | (set(NPT_DEFAULTS) if kind == 'npt' else set())
        extra = sorted(set(stage) - known)
        if extra:
            raise ValueError(f'stage {stage["name"]}: unknown setting(s) {extra}; known: {sorted(known)}')
        stage = {**(NPT_DEFAULTS if kind == 'npt' else {'pressure_gpa': 0.0}), **stage, 'kind': kind}
        if kind == 'npt' and not (stage['temperature_k'] > 0 and stage['steps'] >= 1 and stage['timestep_fs'] > 0):
            raise ValueError(f'stage {stage["name"]}: temperature, steps and time step must be positive')
        if kind == 'npt' and (stage['interval'] < 1 or stage['steps'] % stage['interval']):
            # The frame count is the step count (a restart reads how far it got from it).
            raise ValueError(f'stage {stage["name"]}: steps ({stage["steps"]}) must be a multiple of the frame '
                             f'interval ({stage["interval"]})')
        completed.append(stage)
    merged['stages'] = completed
    return merged


def stress_gpa(atoms) -> np.ndarray:
    """The stress in GPa, Voigt order (xx, yy, zz, yz, xz, xy); positive is tensile (ASE's sign)."""
    from ase.units import GPa

    return np.asarray(atoms.get_stress(voigt=True)) / GPa


def max_force(forces) -> float:
    return float(np.linalg.norm(forces, axis=1).max()) if len(forces) else 0.0


def stress_deviation(stress: np.ndarray, pressure_gpa: float) -> float:
    """Largest stress component off a hydrostatic pressure (GPa): at equilibrium the stress is -p."""
    target = np.array([-pressure_gpa] * 3 + [0.0] * 3)
    return float(np.abs(stress - target).max())


def frame_of(atoms):
    """A copy of ``atoms`` that carries its computed energy, forces and stress (for the trajectory)."""
    from ase.calculators.singlepoint import SinglePointCalculator

    frame = atoms.copy()
    frame.calc = SinglePointCalculator(frame, energy=atoms.get_potential_energy(), forces=atoms.get_forces(),
                                       stress=atoms.get_stress(voigt=True))
    return frame


def read_frames(path: pathlib.Path, repair: bool = False) -> list:
    """Every complete frame of a trajectory (a file cut by a kill keeps the frames before the cut).

    :param repair: rewrite a file cut part-way through a frame with its complete frames, so that frames can
        be appended to it again.
    """
    from ase.io.trajectory import Trajectory

    if not path.is_file() or path.stat().st_size == 0:
        return []
    frames, complete = [], True
    try:
        with Trajectory(str(path)) as trajectory:
            for index in range(len(trajectory)):
                frames.append(trajectory[index])
    except Exception:  # noqa: BLE001  (ASE raises various errors on a cut file: keep what came before the cut)
        complete = False
    if repair and not complete:
        with Trajectory(str(path), 'w') as trajectory:
            for frame in frames:
                trajectory.write(frame)
    return frames


def physics_problem(atoms, reference_volume: float, max_volume_change: float) -> tuple[str, str] | None:
    """``(reason, message)`` when the configuration is unphysical, else ``None``."""
    values = [atoms.get_potential_energy(), *np.ravel(atoms.get_forces()), *atoms.get_stress(voigt=True)]
    if not all(math.isfinite(value) for value in values):
        return 'non_finite', 'the potential returned a non-finite energy, force or stress'
    change = atoms.get_volume() / reference_volume - 1
    if abs(change) > max_volume_change:
        return 'volume_change', f'the volume changed by {change:+.1%} from the input (bound {max_volume_change:.1%})'
    return None


def stage_summary(frames: list, stage: dict, settings: dict, steps_this_run: int, resumed: bool) -> dict:
    """What a stage did, from all its trajectory frames (this run's and earlier ones')."""
    first, last = frames[0], frames[-1]
    stress = stress_gpa(last)
    interval = stage.get('interval', 1) if stage['kind'] == 'npt' else 1
    summary = {
        'name': stage['name'],
        'kind': stage['kind'],
        'pressure_gpa': stage['pressure_gpa'],
        'steps': (len(frames) - 1) * interval,
        'steps_this_run': steps_this_run,
        'resumed': resumed,
        'frames': len(frames),
        'energy_first_ev': float(first.get_potential_energy()),
        'energy_last_ev': float(last.get_potential_energy()),
        'max_force_ev_a': max_force(last.get_forces()),
        'max_stress_gpa': stress_deviation(stress, stage['pressure_gpa']),
        'volume_first_a3': float(first.get_volume()),
        'volume_last_a3': float(last.get_volume()),
        'volume_change': float(last.get_volume() / first.get_volume() - 1),
    }
    if stage['kind'] == 'relax':
        summary['converged'] = relax_converged(last, stage, settings)
    else:
        summary['converged'] = summary['steps'] >= stage['steps']
        summary['temperature_last_k'] = float(last.get_temperature())
    return summary


def relax_converged(atoms, stage: dict, settings: dict) -> bool:
    return (max_force(atoms.get_forces()) < settings['fmax']
            and stress_deviation(stress_gpa(atoms), stage['pressure_gpa']) < settings['stress_tolerance_gpa'])


def run_relax(atoms, stage: dict, settings: dict, path: pathlib.Path, resumed: bool,
              reference_volume: float, log) -> tuple[int, tuple[str, str] | None]:
    """Relax positions and cell at the stage's pressure; frames appended to ``path``. Returns steps, problem."""
    from ase import optimize
    from ase.filters import FrechetCellFilter
    from ase.io.trajectory import Trajectory
    from ase.units import GPa

    pressure = stage['pressure_gpa'] * GPa
    cell_factor = atoms.get_volume() * settings['stress_tolerance_gpa'] * GPa / settings['fmax']
    system = FrechetCellFilter(atoms, scalar_pressure=pressure, exp_cell_factor=cell_factor)
    optimizer = getattr(optimize, settings['optimizer'])(system, logfile=log)
    problem = None
    with Trajectory(str(path), 'a') as trajectory:
        # fmax 0: the optimiser never stops by its own criterion (on the filter's generalised forces, which
        # can pass while the stress is still off); only the check below ends a stage before its step limit.
        for _ in optimizer.irun(fmax=0.0, steps=int(settings['max_steps'])):
            if not (resumed and optimizer.nsteps == 0):  # a continued stage has its start frame already
                trajectory.write(frame_of(atoms))
            problem = physics_problem(atoms, reference_volume, settings['max_volume_change'])
            if problem or relax_converged(atoms, stage, settings):
                break
    return optimizer.nsteps, problem


def run_npt(atoms, stage: dict, done_steps: int, settings: dict, path: pathlib.Path,
            reference_volume: float, log) -> tuple[int, tuple[str, str] | None]:
    """Berendsen NPT up to the stage's step count (from ``done_steps``); frames every ``interval`` steps."""
    from ase import units
    from ase.io.trajectory import Trajectory
    from ase.md.nptberendsen import Inhomogeneous_NPTBerendsen
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    if done_steps == 0:
        thermalize_momenta(atoms, stage['temperature_k'], rng=np.random.default_rng(stage['seed']))
        Stationary(atoms)
    dynamics = Inhomogeneous_NPTBerendsen(
        atoms, timestep=stage['timestep_fs'] * units.fs, temperature_K=stage['temperature_k'],
        taut=stage['taut_fs'] * units.fs, pressure_au=stage['pressure_gpa'] * units.GPa,
        taup=stage['taup_fs'] * units.fs, compressibility_au=stage['compressibility_per_gpa'] / units.GPa,
        logfile=log,
    )
    interval = int(stage['interval'])
    problem = None
    run = 0
    with Trajectory(str(path), 'a') as trajectory:
        if done_steps == 0:
            atoms.get_forces()
            trajectory.write(frame_of(atoms))
        while done_steps + run < stage['steps'] and problem is None:
            chunk = min(interval, stage['steps'] - done_steps - run)
            dynamics.run(chunk)
            run += chunk
            trajectory.write(frame_of(atoms))
            problem = physics_problem(atoms, reference_volume, settings['max_volume_change'])
    return run, problem


def run_stages(atoms, settings: dict, folder: pathlib.Path, calculator, record: dict, log=None) -> dict:
    """Run (or continue) every stage on ``atoms`` (the input cell) in ``folder``; return the result.

    :returns: a dict: ``status`` ('converged', 'not_converged' or 'broken'), ``stage`` (where it stopped),
        ``broken`` (reason and message, or None), ``atoms`` (the last configuration, with its calculator
        results), ``stages`` (one :func:`stage_summary` each, for the stages reached), ``potential`` (record),
        ``seconds`` and ``steps_this_run``.
    """
    folder = pathlib.Path(folder)
    reference_volume = atoms.get_volume()
    current = atoms.copy()
    summaries = []
    status, where, broken = 'converged', None, None
    started, steps_total = time.perf_counter(), 0
    for stage in settings['stages']:
        path = folder / f'{stage["name"]}.traj'
        frames = read_frames(path, repair=True)
        resumed = bool(frames)
        if frames:
            current = frames[-1]
            done = (relax_converged(current, stage, settings) if stage['kind'] == 'relax'
                    else (len(frames) - 1) * int(stage['interval']) >= stage['steps'])
        else:
            done = False
            path.unlink(missing_ok=True)
        steps, problem = 0, None
        if not done:
            current = current.copy()  # keeps the momenta of an NPT frame
            current.calc = calculator
            current.get_potential_energy()
            if stage['kind'] == 'relax':
                steps, problem = run_relax(current, stage, settings, path, resumed, reference_volume, log)
            else:
                done_steps = (len(frames) - 1) * int(stage['interval']) if frames else 0
                steps, problem = run_npt(current, stage, done_steps, settings, path, reference_volume, log)
            current = frame_of(current)
            steps_total += steps
        frames = read_frames(path)
        summary = stage_summary(frames, stage, settings, steps, resumed)
        summaries.append(summary)
        if problem is not None:
            status, where, broken = 'broken', stage['name'], {'reason': problem[0], 'message': problem[1]}
            break
        if not summary['converged']:
            status, where = 'not_converged', stage['name']
            break
    seconds = time.perf_counter() - started
    return {
        'status': status, 'stage': where, 'broken': broken, 'atoms': current, 'stages': summaries,
        'potential': record, 'seconds': seconds, 'steps_this_run': steps_total,
        'seconds_per_step': seconds / steps_total if steps_total else None,
        'input_volume_a3': reference_volume,
    }
