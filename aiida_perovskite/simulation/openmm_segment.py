"""One MD segment with OpenMM: the temperature ladder's second engine, for GPUs.

    python -m aiida_perovskite.simulation.openmm_segment segment.json

run in a folder holding the topology's LAMMPS files (``forcefield.lmp``, ``data.lmp``,
``coefficients.lmp``) and, for a continuation, the parent's ``restart.<step>`` files. The settings are a
LAMMPS segment's (:func:`aiida_perovskite.simulation.script.validate`), and so is the bookkeeping: the
step count is absolute and continues across segments (the newest ``restart.<step>`` is read and the run
goes up to ``target_step``), restarts are written every ``restart_every`` steps and at the end, the run
stops itself cleanly after ``timeout`` seconds, and ``final.data`` is written when asked for. The log,
:data:`LOG`, has the layout of a LAMMPS log's thermo blocks (a ``Step ...`` header, one row per
``thermo_every`` steps with the columns of :data:`~aiida_perovskite.simulation.script.THERMO_STYLE` in
LAMMPS ``real`` units, then ``Loop time``, ``Performance`` and ``Total wall time`` lines, ``ERROR`` lines),
so :func:`~aiida_perovskite.simulation.log.parse_log` and the segment outcome read both engines alike.

The physics is the topology's own, read from those files (:mod:`.openmm_system`: the same pair tables,
bonded terms, AMBER 1-4 scaling and PME Coulomb; energies equal LAMMPS ``run 0``). What differs from the
LAMMPS segment, by necessity:

- thermostat: Langevin (``LangevinMiddleIntegrator``, friction 1/``tdamp``) instead of Nose-Hoover;
- barostat: Monte Carlo, every :data:`BAROSTAT_EVERY` steps (``iso``: ``MonteCarloBarostat``, ``aniso``:
  ``MonteCarloAnisotropicBarostat`` with the tilts kept, ``tri``: ``MonteCarloFlexibleBarostat``);
  ``pdamp`` has no meaning there;
- ``kspace_accuracy`` is used as PME's Ewald error tolerance (a similar, not identical, measure);
- the minimisation moves the atoms only (OpenMM's L-BFGS, ``maxiter`` iterations at most);
- the pressure is the barostat's instantaneous one (:func:`pressure_tensor`: the diagonal from the ``aniso``
  barostat, all six components from ``tri``, the scalar alone from ``iso``; NaN where none is given).

A restart is an OpenMM ``State`` (XML: positions, velocities, box), readable on any platform, so a
segment begun on a GPU can continue on CPUs. The platform is ``OPENMM_DEFAULT_PLATFORM`` when set, else
the fastest OpenMM finds (CUDA, HIP, OpenCL, CPU); GPU platforms run in ``mixed`` precision.
"""

from __future__ import annotations

import json
import math
import pathlib
import sys
import time

import numpy as np

from .blocking import BOLTZMANN_KCAL_MOL
from .script import FINAL_DATA, QUENCH_MINIMISE, QUENCHED_DATA, validate

#: The quench's force tolerance (kJ/mol/nm, OpenMM's default; its iterations are LAMMPS' quench's).
QUENCH_TOLERANCE = 10.0

LOG = 'log.openmm'
SETTINGS = 'segment.json'
RESTART_PREFIX = 'restart.'
BAROSTAT_EVERY = 25  # steps between two Monte Carlo box moves
ATM_PER_BAR = 1 / 1.01325
#: LAMMPS's names of the thermo columns of :data:`~aiida_perovskite.simulation.script.THERMO_STYLE`.
HEADER = 'Step Temp PotEng KinEng TotEng Press Volume Lx Ly Lz Xy Xz Yz Pxx Pyy Pzz Pxy Pxz Pyz'
#: Platforms by preference when none is named.
PREFERENCE = ('CUDA', 'HIP', 'OpenCL', 'CPU', 'Reference')


def newest_restart(folder: pathlib.Path) -> tuple[int, pathlib.Path] | None:
    """The step and path of the newest ``restart.<step>`` in ``folder`` (None if there is none)."""
    found = []
    for path in pathlib.Path(folder).glob(f'{RESTART_PREFIX}*'):
        suffix = path.name[len(RESTART_PREFIX):]
        if suffix.isdigit():
            found.append((int(suffix), path))
    return max(found) if found else None


def choose_platform(threads: int | None = None):
    """The OpenMM platform and its properties: ``OPENMM_DEFAULT_PLATFORM`` or the fastest available;
    ``threads`` bounds the CPU platform's threads."""
    import os

    import openmm

    named = os.environ.get('OPENMM_DEFAULT_PLATFORM')
    if named:
        platform = openmm.Platform.getPlatformByName(named)
    else:
        available = {openmm.Platform.getPlatform(i).getName() for i in range(openmm.Platform.getNumPlatforms())}
        platform = openmm.Platform.getPlatformByName(next(name for name in PREFERENCE if name in available))
    properties = {'Precision': 'mixed'} if platform.getName() in ('CUDA', 'HIP', 'OpenCL') else {}
    if threads and platform.getName() == 'CPU':
        properties['Threads'] = str(int(threads))
    return platform, properties


class _Log:
    """The segment log, flushed line by line (a killed run keeps every row it printed)."""

    def __init__(self, path: pathlib.Path):
        self.handle = open(path, 'a')

    def __call__(self, line: str) -> None:
        self.handle.write(line + '\n')
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


def _box_row(vectors: np.ndarray) -> list[float]:
    """lx ly lz xy xz yz (Angstrom) of OpenMM's reduced, lower-triangular box vectors (nm)."""
    a, b, c = np.asarray(vectors) * 10
    return [a[0], b[1], c[2], b[0], c[0], c[1]]


def pressure_tensor(barostat, context) -> list[float]:
    """pxx pyy pzz pxy pxz pyz (atm) from the barostat's instantaneous pressure (NaN where it gives none).

    ``MonteCarloBarostat`` gives the scalar pressure only (the diagonal is that value, the rest NaN), the
    anisotropic one the three diagonal components, the flexible one all six (OpenMM's order: xx, yy, zz,
    then the yx, zx, zy derivatives of the lower-triangular box). Without a barostat (a minimisation): NaN.
    """
    import openmm.unit as unit

    if barostat is None:
        return [math.nan] * 6
    value = barostat.computeCurrentPressure(context).value_in_unit(unit.bar)
    values = [float(v) * ATM_PER_BAR for v in (value if hasattr(value, '__len__') else [value] * 3)]
    return values[:6] + [math.nan] * (6 - len(values))


def run_segment(folder: pathlib.Path, settings: dict, threads: int | None = None) -> str:
    """Run (or continue) the segment of ``settings`` in ``folder``; return how it ended (a word).

    :param threads: CPU threads (the CPU platform only; default: OpenMM's, every core or ``OPENMM_CPU_THREADS``).

    Errors of the run (NaN energies) are written to the log as ``ERROR`` lines and returned as 'unstable';
    bad settings or files raise ``ValueError``/``FileNotFoundError`` before anything runs.
    """
    import openmm
    import openmm.unit as unit

    from .openmm_system import build_system, write_data

    folder = pathlib.Path(folder)
    s = validate(settings)
    built = build_system(folder, ewald_tolerance=float(s['kspace_accuracy']))
    system = built.system
    constraints = built.hydrogen_bonds if s['shake'] else []
    for heavy, hydrogen, length in constraints:
        system.addConstraint(heavy, hydrogen, length)
    system.addForce(openmm.CMMotionRemover())
    npt = s['stage'] == 'npt'
    temperature = float(s.get('temperature', 300.0))
    barostat = None
    if npt:
        pressure = float(s['pressure']) / ATM_PER_BAR  # atm to bar
        if s['barostat'] == 'iso':
            barostat = openmm.MonteCarloBarostat(pressure, temperature, BAROSTAT_EVERY)
        elif s['barostat'] == 'aniso':
            barostat = openmm.MonteCarloAnisotropicBarostat(openmm.Vec3(pressure, pressure, pressure), temperature,
                                                            True, True, True, BAROSTAT_EVERY)
        else:
            barostat = openmm.MonteCarloFlexibleBarostat(pressure, temperature, BAROSTAT_EVERY)
        system.addForce(barostat)
    restart = newest_restart(folder)
    step = restart[0] if restart is not None else 0
    # A continuation draws new random numbers (the seed and the step it starts from; OpenMM reads 0 as 'any').
    seed = (int(s['seed']) + step) % 2**31 or 1
    if barostat is not None:
        barostat.setRandomNumberSeed(seed)
    timestep_ps = float(s['timestep']) * 1e-3
    integrator = openmm.LangevinMiddleIntegrator(temperature, 1 / (float(s['tdamp']) * 1e-3), timestep_ps)
    integrator.setRandomNumberSeed(seed)
    platform, properties = choose_platform(threads)
    context = openmm.Context(system, integrator, platform, properties)

    if restart is not None:
        context.setState(openmm.XmlSerializer.deserialize(restart[1].read_text()))
    else:
        context.setPeriodicBoxVectors(*(openmm.Vec3(*row) for row in built.box))
        context.setPositions(built.positions)
    if npt and s['create_velocities']:
        context.setVelocitiesToTemperature(temperature, seed)
    degrees = 3 * built.n_atoms - len(constraints) - 3

    log = _Log(folder / LOG)
    log(f'OpenMM {openmm.__version__} on {platform.getName()} {properties.get("Precision", "")}'.rstrip()
        + f', {built.n_atoms} atoms, {len(constraints)} constraints, stage {s["stage"]}, from step {step}')

    def row(current: int) -> bool:
        """Print one thermo row; False when the energies are no longer numbers."""
        state = context.getState(getEnergy=True)
        pe = state.getPotentialEnergy().value_in_unit(unit.kilocalorie_per_mole)
        ke = state.getKineticEnergy().value_in_unit(unit.kilocalorie_per_mole)
        vectors = state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(unit.nanometer)
        volume = float(np.linalg.det(vectors)) * 1000
        tensor = pressure_tensor(barostat, context)
        press = float(np.mean(tensor[:3]))
        values = [current, 2 * ke / (degrees * BOLTZMANN_KCAL_MOL), pe, ke, pe + ke, press, volume, *_box_row(vectors), *tensor]
        log(' '.join(f'{value:.10g}' for value in values))
        return math.isfinite(pe) and math.isfinite(ke)

    def write_restart(current: int) -> None:
        state = context.getState(getPositions=True, getVelocities=True, enforcePeriodicBox=False)
        path = folder / f'{RESTART_PREFIX}{current}'
        path.with_suffix('.tmp').write_text(openmm.XmlSerializer.serialize(state))
        path.with_suffix('.tmp').replace(path)  # never a half-written restart

    started = time.perf_counter()
    log(HEADER)
    if not row(step):
        log('ERROR: the starting configuration has nan energies (Non-numeric atom coords)')
        log.close()
        return 'unstable'
    ran, ended = 0, 'finished'
    if not npt:
        openmm.LocalEnergyMinimizer.minimize(context, 10.0, int(s['minimise']['maxiter']))
        row(step)
        step = 0  # LAMMPS's reset_timestep 0 after a minimisation
    else:
        target, every, save = int(s['target_step']), int(s['thermo_every']), int(s['restart_every'])
        while step < target:
            stop = min(target, (step // every + 1) * every, (step // save + 1) * save)
            integrator.step(stop - step)
            ran += stop - step
            step = stop
            if (step % every == 0 or step == target) and not row(step):
                log(f'ERROR: nan energies at step {step}: unstable dynamics')
                log.close()
                return 'unstable'
            if step % save == 0 and step < target:
                write_restart(step)
            if s['timeout'] and time.perf_counter() - started > float(s['timeout']) and step < target:
                ended = 'timed_out'
                break
    wall = time.perf_counter() - started
    log(f'Loop time of {wall:.6g} on 1 procs for {ran if npt else 0} steps with {built.n_atoms} atoms')
    if npt and ran:
        per_second = ran / wall
        ns_per_day = per_second * float(s['timestep']) * 1e-6 * 86400
        log(f'Performance: {ns_per_day:.4f} ns/day, {24 / ns_per_day:.4f} hours/ns, {per_second:.4f} timesteps/s')
    write_restart(step)
    if s['write_data']:
        state = context.getState(getPositions=True)
        positions = state.getPositions(asNumpy=True).value_in_unit(unit.angstrom)
        vectors = state.getPeriodicBoxVectors(asNumpy=True).value_in_unit(unit.angstrom)
        template = (folder / built.data_file).read_text()
        (folder / FINAL_DATA).write_text(write_data(template, np.asarray(positions), np.asarray(vectors)))
        if s['quench']:  # the same configuration minimised in its box (LAMMPS' quench); the barostat does not act
            openmm.LocalEnergyMinimizer.minimize(context, QUENCH_TOLERANCE, QUENCH_MINIMISE[2])
            quenched = context.getState(getPositions=True).getPositions(asNumpy=True).value_in_unit(unit.angstrom)
            (folder / QUENCHED_DATA).write_text(write_data(template, np.asarray(quenched), np.asarray(vectors)))
    hours, rest = divmod(int(round(time.perf_counter() - started)), 3600)
    log(f'Total wall time: {hours}:{rest // 60:02d}:{rest % 60:02d}')
    log.close()
    return ended


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog='python -m aiida_perovskite.simulation.openmm_segment',
                                     description=__doc__.split('\n')[0])
    parser.add_argument('settings', type=pathlib.Path,
                        help='JSON: {"settings": the segment settings, "threads": CPU threads or null}')
    parser.add_argument('--folder', type=pathlib.Path, default=pathlib.Path('.'),
                        help='where the topology files are and the log and restarts go (default: here)')
    args = parser.parse_args(argv)
    import openmm

    try:
        document = json.loads(args.settings.read_text())
        ended = run_segment(args.folder, document['settings'], document.get('threads'))
    except (ValueError, KeyError, FileNotFoundError, openmm.OpenMMException) as error:  # JSONDecodeError: a ValueError
        # An ERROR line: the parser reports it and the restart chain stops (it would come back on every retry).
        message = ' '.join(str(error).split())
        with open(args.folder / LOG, 'a') as handle:
            handle.write(f'ERROR: {type(error).__name__}: {message}\n')
        print(f'error: {message}', file=sys.stderr)
        return 2
    print(f'segment {ended}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
