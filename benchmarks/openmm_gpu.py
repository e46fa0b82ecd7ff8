"""The method's force field in OpenMM on a GPU: the same energies as LAMMPS, and how fast.

What it measures: one cell (default the bundled (BA)2PbI4, 78 atoms, one layer per cell, 3x3x6 = 4,212
atoms: the size of the method's (BA)2PbI4 3x3x3 cell, on which the ladder's CPU cost was measured) with the method's force
field (``thesis`` protocol: myp-pbi, formal ion charges, AM1-BCC spacer charges, cut-off 12 A, Ewald
accuracy 1e-5), run by OpenMM on the platform asked for (CUDA: 'mixed' precision for the dynamics).

- Energies per component (bond, angle, torsion, coulomb, vdw, total) on that platform, CUDA in 'mixed'
  and 'double', against LAMMPS ``run 0`` and OpenMM's CPU platform on the same cell, both computed
  by ``prepare``: the difference in kcal/mol and per atom.
- Throughput at 300 K and 1 bar (LangevinMiddleIntegrator, friction 1/ps; MonteCarloFlexibleBarostat when
  the box is triclinic, MonteCarloAnisotropicBarostat when it is orthorhombic, each every 25 steps), per
  setting: ``method`` (1 fs, no constraints, as built), ``hbonds-2fs`` (X-H bonds constrained, 2 fs),
  ``hbonds-2fs-pme1e-4`` (the same with the Ewald tolerance 1e-4) and ``hmr-4fs`` (hydrogen masses
  repartitioned to 3 amu from the bonded heavy atom, X-H constraints, 4 fs). Each: minimisation (500
  iterations at most), a warm-up of a tenth of the timed length, then the timed length; printed are
  ns/day (the samples, every 1/200 of the timed run, each one more energy evaluation, included), the mean
  volume and potential energy per atom over the second half of the timed run and the wall time of the
  method's temperature ladder (660 ps: 16 temperatures x 40 ps and 20 ps of equilibration) at that speed.
  A setting that fails prints one line; the others still run. The method's LAMMPS barostat (aniso) keeps
  the tilt factors of a triclinic box, the flexible barostat lets them move, so the volumes compare with
  the ladder's only roughly.

Why: the temperature ladder (660 ps per material) is the method's cost; a GPU could cut it if OpenMM
reproduces the force field, which the energies check and the volumes hint at.

Two steps, because the GPU machine has only numpy and OpenMM:

``prepare`` (here, with the project's stack): parametrises the CIF with ``ParametriseWorkChain`` (thesis
protocol) in a private AiiDA profile in a temporary folder, deleted at the end, runs LAMMPS ``run 0`` on
the topology it writes, and builds the OpenMM system of the same replicated cell with the test referee
(``tests/referee.py``, ``whole_system``; its ``tests/`` folder is put on ``sys.path``): built from the
tleap prmtop and the parameter set's YAML, independent of the LAMMPS data writer, and checked against
LAMMPS by ``tests/forcefield/test_whole_system_energy.py``. It writes to OUTDIR ``system.xml.gz``,
``positions.npy`` (nm), ``box.npy`` (nm, rows a, b, c) and ``reference.json`` (energies, masses, the X-H
bonds with their equilibrium lengths for constraints, provenance).

``run`` (anywhere with numpy and openmm): reads only OUTDIR, imports nothing of the project.

Usage:
``python benchmarks/openmm_gpu.py prepare OUTDIR [CIF] [--charges bcc|gas]``
(default CIF: examples/structures/ba2pbi4_rp_n1.cif; under a minute on 2 cores, AM1-BCC included);
``python benchmarks/openmm_gpu.py run OUTDIR [--platform CUDA|CPU|Reference] [--ps-per-setting 20]
[--out results.json]`` (``OPENMM_CPU_THREADS`` bounds the CPU platform's threads; with CPU and 0.05 ps per
setting about 3 minutes on 2 cores, most of it minimisation).
"""

import argparse
import gzip
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT = ROOT / 'examples' / 'structures' / 'ba2pbi4_rp_n1.cif'
PROFILE = 'openmm-gpu'
REPLICATION = [3, 3, 6]  # of the default cell: 4,212 atoms, the size of the method's (BA)2PbI4 3x3x3
CUTOFF = 12.0  # Angstrom, the method's
KSPACE = 1e-5  # the method's PPPM accuracy; OpenMM's Ewald error tolerance in the built system
KCAL = 4.184  # kJ per kcal
TEMPERATURE, PRESSURE, FRICTION = 300.0, 1.0, 1.0  # K, bar, 1/ps
BAROSTAT_EVERY = 25  # steps
MINIMISE_ITERATIONS = 500
WARMUP_FRACTION = 0.1  # of the timed length
SAMPLES = 200  # per timed run
LADDER_PS = 16 * 40 + 20  # the method's ladder: 16 temperatures x 40 ps, 20 ps of equilibration
HYDROGEN_MASS = 1.1  # amu: lighter atoms are hydrogens (as ``fix shake ... m 1.1``)
SETTINGS = {
    'method': {'timestep_fs': 1.0, 'constraints': False, 'hmr': False, 'ewald_tolerance': None},
    'hbonds-2fs': {'timestep_fs': 2.0, 'constraints': True, 'hmr': False, 'ewald_tolerance': None},
    'hbonds-2fs-pme1e-4': {'timestep_fs': 2.0, 'constraints': True, 'hmr': False, 'ewald_tolerance': 1e-4},
    'hmr-4fs': {'timestep_fs': 4.0, 'constraints': True, 'hmr': True, 'ewald_tolerance': None},
}
#: Energies are evaluated in each of these precisions (the dynamics use the first).
PRECISIONS = {'CUDA': ['mixed', 'double'], 'CPU': [None], 'Reference': [None]}


def group_energies(system, positions: np.ndarray, groups: dict[str, int], platform: str,
                   precision: str | None = None) -> dict[str, float]:
    """Energies (kcal/mol) per component and in total on ``platform``."""
    import openmm

    properties = {'Precision': precision} if precision else {}
    context = openmm.Context(system, openmm.VerletIntegrator(0.001), openmm.Platform.getPlatformByName(platform),
                             properties)
    context.setPositions(positions)

    def energy(group_set):
        state = context.getState(getEnergy=True, groups=group_set)
        return state.getPotentialEnergy().value_in_unit(openmm.unit.kilocalorie_per_mole)

    result = {name: energy({group}) for name, group in groups.items()}
    result['total'] = energy(set(groups.values()))
    return result


def prepare(outdir: pathlib.Path, cif: pathlib.Path, charges: str) -> int:
    if not cif.exists():
        print(f'{cif} not found')
        return 1
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='aiida-perovskite-openmm-'))
    os.environ['AIIDA_PATH'] = str(workdir)  # before aiida is imported: the private config folder
    start = time.perf_counter()
    try:
        from private_profile import open_private_profile  # benchmarks/, the script's folder, is on sys.path

        if not open_private_profile(PROFILE):
            return 1

        import openmm
        from aiida import orm
        from aiida.engine import run_get_node
        from aiida.manage import get_manager

        from aiida_perovskite.tools.codes import load_codes
        from aiida_perovskite.workflows.parametrise import ParametriseWorkChain

        sys.path.insert(0, str(ROOT / 'tests'))
        from referee import lammps_run0, whole_system

        overrides = {'charge_method': charges,
                     'lammps': {'replication': REPLICATION, 'cutoff': CUTOFF, 'kspace_accuracy': KSPACE}}
        builder = ParametriseWorkChain.get_builder_from_protocol(
            load_codes(), orm.CifData(file=str(cif), filename=cif.name), 'thesis', overrides)
        results, node = run_get_node(builder)
        if not node.is_finished_ok:
            print(f'parametrisation failed [{node.exit_status}]: {node.exit_message}')
            return 1
        print(f'parametrised in {time.perf_counter() - start:.0f} s', flush=True)
        topology = results['topology']
        parameter_set = topology.base.attributes.get('parameter_set')
        topology.write(workdir / 'lammps')
        lammps = lammps_run0(workdir / 'lammps')
        outdir.mkdir(parents=True, exist_ok=True)
        for name in topology.FILES:  # the product engine's input (``engine`` below)
            (outdir / 'lammps').mkdir(exist_ok=True)
            shutil.copy(workdir / 'lammps' / name, outdir / 'lammps' / name)

        tleap = next(n for n in node.called if n.process_type == 'aiida.calculations:perovskite.tleap')
        prmtop, inpcrd = workdir / 'cell.prmtop', workdir / 'cell.inpcrd'
        prmtop.write_bytes(results['prmtop'].get_content(mode='rb'))
        inpcrd.write_bytes(tleap.outputs.inpcrd.get_content(mode='rb'))
        structure = results['structure']
        ions = [(structure.get_kind(structure.sites[i].kind_name).symbol, np.array(structure.sites[i].position))
                for i in results['decomposition']['inorganic_indices']]
        system, positions, groups = whole_system(prmtop, inpcrd, ions, np.array(structure.cell), REPLICATION,
                                                 parameter_set, CUTOFF, ewald_tolerance=KSPACE)
        if system.getNumParticles() != topology.base.attributes.get('n_atoms'):
            raise RuntimeError(f'OpenMM has {system.getNumParticles()} atoms, the LAMMPS topology '
                               f'{topology.base.attributes.get("n_atoms")}')
        get_manager().unload_profile()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    masses = [system.getParticleMass(i).value_in_unit(openmm.unit.dalton) for i in range(system.getNumParticles())]
    bonds = next(force for force in system.getForces() if isinstance(force, openmm.HarmonicBondForce))
    hydrogen_bonds = []  # [heavy atom, hydrogen, equilibrium length in nm]
    for index in range(bonds.getNumBonds()):
        i, j, length, _ = bonds.getBondParameters(index)
        if masses[i] < HYDROGEN_MASS:
            i, j = j, i
        if masses[j] < HYDROGEN_MASS:
            hydrogen_bonds.append([i, j, length.value_in_unit(openmm.unit.nanometer)])
    box = np.array([vector.value_in_unit(openmm.unit.nanometer) for vector in system.getDefaultPeriodicBoxVectors()])
    commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    reference = {
        'n_atoms': system.getNumParticles(), 'groups': groups,
        'energies': {'lammps': lammps, 'openmm-cpu': group_energies(system, positions, groups, 'CPU')},
        'cutoff_angstrom': CUTOFF, 'ewald_error_tolerance': KSPACE, 'replication': REPLICATION,
        'masses': masses, 'hydrogen_bonds': hydrogen_bonds,
        'provenance': {'cif': cif.name, 'parameter_set': parameter_set, 'charge_method': charges,
                       'protocol': 'thesis', 'openmm': openmm.__version__, 'commit': commit},
    }
    outdir.mkdir(parents=True, exist_ok=True)
    with gzip.open(outdir / 'system.xml.gz', 'wt') as handle:
        handle.write(openmm.XmlSerializer.serialize(system))
    np.save(outdir / 'positions.npy', positions)
    np.save(outdir / 'box.npy', box)
    (outdir / 'reference.json').write_text(json.dumps(reference, indent=1))
    print(f'{cif.name}: {reference["n_atoms"]} atoms, {parameter_set}, {charges} charges, '
          f'{len(hydrogen_bonds)} X-H bonds; written to {outdir} in {time.perf_counter() - start:.0f} s')
    print_energies(reference, 'openmm-cpu', reference['energies']['openmm-cpu'])
    return 0


def print_energies(reference: dict, label: str, energies: dict[str, float]) -> None:
    """``energies`` against LAMMPS and OpenMM's CPU platform: kcal/mol, and per atom."""
    n = reference['n_atoms']
    lammps, cpu = reference['energies']['lammps'], reference['energies']['openmm-cpu']
    print(f'  {label}: {"term":>8s} {"LAMMPS":>16s} {"OpenMM":>16s} {"-LAMMPS":>12s} {"/atom":>10s} '
          f'{"rel":>9s} {"-CPU":>12s} {"/atom":>10s}')
    for term, value in energies.items():
        to_lammps, to_cpu = value - lammps[term], value - cpu[term]
        print(f'  {label}: {term:>8s} {lammps[term]:16.4f} {value:16.4f} {to_lammps:12.4f} {to_lammps / n:10.2e} '
              f'{to_lammps / abs(lammps[term] or 1):9.1e} {to_cpu:12.4f} {to_cpu / n:10.2e}', flush=True)


def build(xml: str, reference: dict, setting: dict):
    """The system of ``setting``: its Ewald tolerance, X-H constraints, repartitioned masses and barostat."""
    import openmm

    system = openmm.XmlSerializer.deserialize(xml)
    if setting['ewald_tolerance']:
        for force in system.getForces():
            if isinstance(force, openmm.NonbondedForce):
                force.setEwaldErrorTolerance(setting['ewald_tolerance'])
    if setting['constraints']:
        for heavy, hydrogen, length in reference['hydrogen_bonds']:
            system.addConstraint(heavy, hydrogen, length)
    if setting['hmr']:
        for heavy, hydrogen, _ in reference['hydrogen_bonds']:
            shift = 3.0 - system.getParticleMass(hydrogen).value_in_unit(openmm.unit.dalton)
            system.setParticleMass(hydrogen, 3.0)
            system.setParticleMass(heavy, system.getParticleMass(heavy).value_in_unit(openmm.unit.dalton) - shift)
    if triclinic(system):
        system.addForce(openmm.MonteCarloFlexibleBarostat(PRESSURE, TEMPERATURE, BAROSTAT_EVERY))
    else:
        system.addForce(openmm.MonteCarloAnisotropicBarostat(openmm.Vec3(PRESSURE, PRESSURE, PRESSURE), TEMPERATURE,
                                                             True, True, True, BAROSTAT_EVERY))
    return system


def triclinic(system) -> bool:
    import openmm

    box = np.array([vector.value_in_unit(openmm.unit.nanometer) for vector in system.getDefaultPeriodicBoxVectors()])
    return bool(np.abs(box - np.diag(np.diag(box))).max() > 1e-9)


def throughput(xml: str, reference: dict, positions: np.ndarray, platform: str, precision: str | None,
               setting: dict, picoseconds: float, name: str) -> dict:
    import openmm

    n = reference['n_atoms']
    system = build(xml, reference, setting)
    timestep = setting['timestep_fs'] * 1e-3  # ps
    integrator = openmm.LangevinMiddleIntegrator(TEMPERATURE, FRICTION, timestep)
    properties = {'Precision': precision} if precision else {}
    context = openmm.Context(system, integrator, openmm.Platform.getPlatformByName(platform), properties)
    context.setPositions(positions)
    tick = time.perf_counter()
    openmm.LocalEnergyMinimizer.minimize(context, 10.0, MINIMISE_ITERATIONS)
    context.setVelocitiesToTemperature(TEMPERATURE, 1)
    steps = max(1, round(picoseconds / timestep))
    warmup = max(1, round(WARMUP_FRACTION * steps))
    print(f'{name}: minimised in {time.perf_counter() - tick:.1f} s; warm-up {warmup} steps, then {steps} timed',
          flush=True)
    integrator.step(warmup)
    context.getState(getEnergy=True)  # waits for the warm-up to finish
    every = max(1, steps // SAMPLES)
    volumes, energies, done = [], [], 0
    tick = time.perf_counter()
    while done < steps:
        chunk = min(every, steps - done)
        integrator.step(chunk)
        done += chunk
        state = context.getState(getEnergy=True)
        energy = state.getPotentialEnergy().value_in_unit(openmm.unit.kilojoule_per_mole)
        if not np.isfinite(energy):
            raise RuntimeError(f'the potential energy is {energy} after {done} steps')
        volumes.append(state.getPeriodicBoxVolume().value_in_unit(openmm.unit.nanometer**3) * 1000 / n)
        energies.append(energy / KCAL / n)
        if done * 4 // steps > (done - chunk) * 4 // steps:
            print(f'{name}: {done}/{steps} steps, {time.perf_counter() - tick:.1f} s', flush=True)
    wall = time.perf_counter() - tick
    ns_per_day = steps * timestep * 1e-3 / (wall / 86400)
    half = len(volumes) // 2
    return {**setting, 'steps': steps, 'warmup_steps': warmup, 'wall_s': wall, 'ns_per_day': ns_per_day,
            'volume_per_atom': float(np.mean(volumes[half:])), 'pe_per_atom': float(np.mean(energies[half:])),
            'samples': len(volumes) - half, 'ladder_minutes': LADDER_PS * 1e-3 / ns_per_day * 24 * 60}


def run(outdir: pathlib.Path, platform: str, picoseconds: float, out: pathlib.Path | None) -> int:
    import openmm

    reference = json.loads((outdir / 'reference.json').read_text())
    with gzip.open(outdir / 'system.xml.gz', 'rt') as handle:
        xml = handle.read()
    positions = np.load(outdir / 'positions.npy')
    system = openmm.XmlSerializer.deserialize(xml)
    groups, provenance = reference['groups'], reference['provenance']
    results = {'platform': platform, 'openmm': openmm.__version__, 'ps_per_setting': picoseconds,
               'provenance': provenance, 'energies': {}, 'settings': {}}

    def save():
        if out:
            out.write_text(json.dumps(results, indent=1))

    barostat = 'MonteCarloFlexibleBarostat (triclinic box)' if triclinic(system) else \
        'MonteCarloAnisotropicBarostat (orthorhombic box)'
    print(f'{provenance["cif"]}: {reference["n_atoms"]} atoms, {provenance["parameter_set"]}, '
          f'{provenance["charge_method"]} charges; OpenMM {openmm.__version__} on {platform}; {barostat}', flush=True)
    results['barostat'] = barostat
    for precision in PRECISIONS[platform]:
        label = f'{platform}-{precision}' if precision else platform
        try:
            energies = group_energies(system, positions, groups, platform, precision)
        except Exception as error:  # one failure must not stop the rest
            print(f'{label}: energies failed: {type(error).__name__}: {error}', flush=True)
            results['energies'][label] = {'error': f'{type(error).__name__}: {error}'}
            continue
        results['energies'][label] = energies
        print_energies(reference, label, energies)
        save()

    if platform == 'CUDA':
        try:
            context = openmm.Context(system, openmm.VerletIntegrator(0.001),
                                     openmm.Platform.getPlatformByName(platform))
            results['device'] = context.getPlatform().getPropertyValue(context, 'DeviceName')
            print(f'device: {results["device"]}', flush=True)
        except Exception as error:
            print(f'device name unknown: {type(error).__name__}: {error}', flush=True)
    precision = PRECISIONS[platform][0]
    for name, setting in SETTINGS.items():
        print(f'{name}: {setting}', flush=True)
        try:
            result = throughput(xml, reference, positions, platform, precision, setting, picoseconds, name)
        except Exception as error:
            print(f'{name}: failed: {type(error).__name__}: {error}', flush=True)
            results['settings'][name] = {**setting, 'error': f'{type(error).__name__}: {error}'}
            save()
            continue
        results['settings'][name] = result
        print(f'{name}: {result["ns_per_day"]:.2f} ns/day; second half ({result["samples"]} samples): '
              f'volume {result["volume_per_atom"]:.4f} A^3/atom, PE {result["pe_per_atom"]:.4f} kcal/mol/atom; '
              f'the 660 ps ladder would take {result["ladder_minutes"]:.1f} min', flush=True)
        save()
    print('summary:', flush=True)
    for name, result in results['settings'].items():
        if 'error' in result:
            print(f'  {name:20s} failed', flush=True)
        else:
            print(f'  {name:20s} {result["ns_per_day"]:9.2f} ns/day  ladder {result["ladder_minutes"]:7.1f} min  '
                  f'V {result["volume_per_atom"]:.4f} A^3/atom  PE {result["pe_per_atom"]:.4f} kcal/mol/atom',
                  flush=True)
    return 0


def engine(outdir: pathlib.Path, steps: int) -> int:
    """The product's own engine path: :func:`aiida_perovskite.simulation.openmm_segment.run_segment` (what an
    ``OpenmmSegmentCalculation`` runs) on the topology's LAMMPS files, with the ``thesis`` ladder's settings:
    a minimisation, then ``steps`` of NPT at 300 K; its first thermo row against LAMMPS ``run 0``."""
    sys.path.insert(0, str(ROOT))
    from aiida_perovskite.simulation.log import parse_log
    from aiida_perovskite.simulation.openmm_segment import LOG, choose_platform, run_segment

    reference = json.loads((outdir / 'reference.json').read_text())
    segment = {'timestep': 1.0, 'thermo_every': 1000, 'restart_every': 10000, 'barostat': 'aniso', 'pressure': 1.0,
               'tdamp': 100.0, 'pdamp': 1000.0, 'seed': 4928459, 'kspace_accuracy': KSPACE, 'shake': False}
    platform, _ = choose_platform()
    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        for path in (outdir / 'lammps').iterdir():
            shutil.copy(path, work / path.name)
        tick = time.perf_counter()
        run_segment(work, {**segment, 'stage': 'minimise', 'target_step': 0,
                           'minimise': {'etol': 1e-6, 'ftol': 1e-8, 'maxiter': 1000, 'maxeval': 10000}})
        start = parse_log((work / LOG).read_text()).rows[0]
        print(f'{platform.getName()}: first row PE {start[2]:.4f} kcal/mol, LAMMPS run 0 '
              f'{reference["energies"]["lammps"]["total"]:.4f} (relative '
              f'{start[2] / reference["energies"]["lammps"]["total"] - 1:+.1e}); minimised in '
              f'{time.perf_counter() - tick:.1f} s', flush=True)
        (work / LOG).unlink()
        run_segment(work, {**segment, 'stage': 'npt', 'target_step': steps, 'temperature': 300.0,
                           'create_velocities': True})
        log = parse_log((work / LOG).read_text())
    rows = log.rows[len(log.rows) // 2:]
    print(f'{platform.getName()}: {steps} NPT steps at {log.ns_per_day:.1f} ns/day (the 660 ps ladder: '
          f'{LADDER_PS * 1e-3 / log.ns_per_day * 24 * 60:.1f} min); second half: T {rows[:, 1].mean():.1f} K, '
          f'volume {rows[:, 6].mean() / reference["n_atoms"]:.4f} A^3/atom', flush=True)
    return 0


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    commands = parser.add_subparsers(dest='command', required=True)
    prepare_parser = commands.add_parser('prepare', help='parametrise, run LAMMPS run 0, write OUTDIR (here)')
    prepare_parser.add_argument('outdir', type=pathlib.Path)
    prepare_parser.add_argument('cif', nargs='?', type=pathlib.Path, default=DEFAULT)
    prepare_parser.add_argument('--charges', choices=('bcc', 'gas'), default='bcc')
    run_parser = commands.add_parser('run', help='energies and throughput from OUTDIR (numpy and openmm only)')
    run_parser.add_argument('outdir', type=pathlib.Path)
    run_parser.add_argument('--platform', choices=('CUDA', 'CPU', 'Reference'), default='CUDA')
    run_parser.add_argument('--ps-per-setting', type=float, default=20.0)
    run_parser.add_argument('--out', type=pathlib.Path)
    engine_parser = commands.add_parser('engine', help="the product's OpenMM segment on OUTDIR/lammps (numpy, openmm and "
                                                       'aiida_perovskite.simulation only)')
    engine_parser.add_argument('outdir', type=pathlib.Path)
    engine_parser.add_argument('--steps', type=int, default=20000, help='NPT steps of 1 fs at 300 K after the minimisation')
    arguments = parser.parse_args()
    if arguments.command == 'prepare':
        sys.exit(prepare(arguments.outdir, arguments.cif, arguments.charges))
    if arguments.command == 'engine':
        sys.exit(engine(arguments.outdir, arguments.steps))
    sys.exit(run(arguments.outdir, arguments.platform, arguments.ps_per_setting, arguments.out))
