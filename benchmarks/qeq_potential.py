"""The QEq potential (issue 18) from scratch: reference size convergence, training, held-out errors, baselines.

    OMP_NUM_THREADS=1 python benchmarks/qeq_potential.py [--n-train 48] [--n-test 12] [--epochs 60]
        [--charge-epochs 60] [--replicate 1 1 1] [--base relaxed|ideal] [--charged] [--skip-size] [--labels DIR]
        [--json FILE] [--save DIR] [--xtb-md-steps 150]

1. Size convergence of the GFN1-xTB reference (tblite samples only the Gamma point): the ideal Cs2PbI4
   crystal (n = 1 Ruddlesden-Popper, 3.2 A Pb-I) in its 14-atom conventional cell repeated to 28, 56 and 112
   atoms: energy per atom, Pb/Cs/I Mulliken charges and seconds per call; and the 14-atom cell labelled on its
   2x2x1 replication (the same as a 2x2x1 k-grid), the labelling ``--replicate`` offers.
2. Data, every configuration labelled by GFN1-xTB (with ``--replicate``): training = ``--n-train`` configurations
   of Cs2PbI4 (14 atoms) and Cs3Pb2I7 (n = 2, 12-atom primitive cell), each first relaxed with GFN1-xTB at the
   same ``--replicate`` (``--base ideal``: the 3.2 A crystals, which GFN1-xTB holds under 1.6-3 GPa of
   tension), at ``--train-temperature`` (a nominal 300 K rattle, about 1,400 K of harmonic energy; up to 2 %
   strain), a third of them with an iodide vacancy and a
   third with a Cs vacancy. Held out, from trajectories not used in training: (a) the same kinds at 150 K
   (another temperature), (b) an unseen defect: the charge-neutral nearest-neighbour CsI pair vacancy at 300 K.
3. The QEq potential and the same HIP-NN without charges (short range only), trained on the same split; mean
   absolute errors of energy per atom, forces and charges on each held-out set beside trivial baselines (mean
   energy per atom of the training set, per-element composition fit, zero forces, per-element mean charges).
   With ``--xtb-md-steps N`` a third held-out set: frames of GFN1-xTB's own Langevin MD at 200 K from each base
   cell (N steps of 2 fs, a frame every 10 after the first 40), the trajectories the potential is for.
4. Cost: seconds per force call of the model and of GFN1-xTB on the same cells.

Every number is printed; nothing is asserted. The scale used is printed with them.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np


def size_convergence(settings):
    from aiida_perovskite.mlip import sampling, xtb

    conventional = sampling.ruddlesden_popper(1)
    rows = []
    for repeat in ((1, 1, 1), (2, 1, 1), (2, 2, 1), (2, 2, 2)):
        atoms = conventional.repeat(repeat)
        started = time.perf_counter()
        labels = xtb.label(atoms, settings)
        rows.append(_size_row(f'{len(atoms)} atoms (Gamma)', atoms, labels, time.perf_counter() - started))
    started = time.perf_counter()
    labels = xtb.label(conventional, {**settings, 'replicate': [2, 2, 1]})
    rows.append(_size_row('14 atoms, 2x2x1 replicated', conventional, labels, time.perf_counter() - started))
    print('\n1. Size convergence of the GFN1-xTB reference, ideal Cs2PbI4')
    print(f'{"cell":<28}{"E/atom (eV)":>14}{"q(Pb)":>9}{"q(Cs)":>9}{"q(I)":>9}{"s/call":>9}')
    for row in rows:
        print(f'{row["cell"]:<28}{row["energy_per_atom"]:>14.4f}{row["Pb"]:>9.3f}{row["Cs"]:>9.3f}{row["I"]:>9.3f}'
              f'{row["seconds"]:>9.1f}')
    return rows


def _size_row(name, atoms, labels, seconds):
    symbols = np.array(atoms.get_chemical_symbols())
    charges = labels['charges']
    return {'cell': name, 'n_atoms': len(atoms), 'energy_per_atom': labels['energy'] / len(atoms), 'seconds': seconds,
            **{element: float(charges[symbols == element].mean()) for element in ('Pb', 'Cs', 'I')}}


def base_cells(base, settings, cache_folder=None):
    """Cs2PbI4 (14 atoms) and Cs3Pb2I7 (12-atom primitive cell): ideal (3.2 A Pb-I), or relaxed with the
    reference itself (``base == 'relaxed'``; cached in ``cache_folder``), and the labelling settings for them.

    A relaxation on the ``replicate`` supercell that breaks the copies' symmetry (tilted octahedra) returns the
    supercell (:func:`aiida_perovskite.mlip.xtb.relaxed`); then every base cell is that supercell and is
    labelled at Gamma, the same k-point grid as the small cells' ``replicate``.
    """
    from aiida_perovskite.mlip import sampling, xtb

    cells = [sampling.ruddlesden_popper(1), sampling.primitive(sampling.ruddlesden_popper(2))]
    if base == 'ideal':
        return cells, settings
    result = []
    for cell in cells:
        tag = f'relaxed-{cell.get_chemical_formula()}-{"x".join(map(str, settings["replicate"]))}.extxyz'
        cache = pathlib.Path(cache_folder) / tag if cache_folder else None
        if cache is not None and cache.is_file():
            relaxed = xtb.read(cache)[0]
        else:
            relaxed, record = xtb.relaxed(cell, settings)
            print(f'relaxed {cell.get_chemical_formula()} with GFN1-xTB: {record}', flush=True)
            if cache is not None:
                cache.parent.mkdir(parents=True, exist_ok=True)
                xtb.write(cache, [relaxed])
        repeat = np.asarray(relaxed.info['origin']['supercell'])
        ideal, now = cell.cell.lengths(), relaxed.cell.lengths() / repeat
        print(f'{cell.get_chemical_formula()} relaxed with GFN1-xTB ({"x".join(map(str, repeat))} cell): lengths per '
              f'ideal cell {np.round(ideal, 3).tolist()} -> {np.round(now, 3).tolist()} A '
              f'({np.round(100 * (now / ideal - 1), 1).tolist()} %), volume '
              f'{100 * (relaxed.get_volume() / np.prod(repeat) / cell.get_volume() - 1):+.1f} %', flush=True)
        result.append(relaxed)
    cells, sampled = xtb.sampling_cells(result, settings)
    if sampled['replicate'] != settings['replicate']:
        print(f'the relaxed cells are {[len(a) for a in cells]}-atom supercells, labelled at Gamma', flush=True)
    return cells, sampled


def xtb_trajectories(starts, settings, steps: int, cache: pathlib.Path, temperature: float = 200.0,
                     skip: int = 40, name: str = 'xtb', seed: int = 50_000):
    """Frames (labelled) of GFN1-xTB Langevin MD from each start (seeds ``seed + index``), a frame every 10 steps
    after the first ``skip``; cached. Each frame's origin names its trajectory (``name``-index)."""
    from aiida_perovskite.mlip import sampling, xtb

    if cache.is_file():
        frames = xtb.read(cache)
        print(f'read {len(frames)} GFN1-xTB MD frames from {cache}', flush=True)
        return frames
    frames = []
    for index, cell in enumerate(starts):
        started = time.perf_counter()
        try:
            kept = sampling.short_md(cell, xtb.calculator(settings), temperature, steps, 10, seed=seed + index)
        except RuntimeError as error:  # an SCF that does not converge ends the trajectory
            print(f'GFN1-xTB MD {name}-{index} at {temperature:.0f} K broke: {error}', flush=True)
            continue
        kept = [frame for frame in kept if frame.info['origin']['md_step'] > skip]
        for frame in kept:
            frame.info['origin']['trajectory'] = f'{name}-{index}'
        labelled, failures, _ = xtb.label_all(kept, settings)
        frames += labelled
        vacancy = cell.info.get('origin', {}).get('vacancy', 'pristine')
        print(f'GFN1-xTB MD of {cell.get_chemical_formula()} ({vacancy}) at {temperature:.0f} K: {steps} steps, '
              f'{len(labelled)} frames labelled ({len(failures)} failures) in {time.perf_counter() - started:.0f} s',
              flush=True)
    cache.parent.mkdir(parents=True, exist_ok=True)
    xtb.write(cache, frames)
    return frames


def datasets(cells, n_train, n_test, seed, charged=False, train_temperature=300.0):
    from aiida_perovskite.mlip import sampling

    kinds = ((), ('I',), ('Cs',))

    def make(temperature, count, vacancies_cycle, offset):
        result = []
        for index in range(count):
            cell = cells[index % len(cells)]
            vacancies = vacancies_cycle[(index // len(cells)) % len(vacancies_cycle)]
            result += sampling.sample(cell, temperature, 1, seed=seed + offset + index, vacancies=vacancies,
                                      charged=charged)
        return result

    return {
        'train': make(train_temperature, n_train, kinds, 0),
        'held out: 150 K': make(150.0, n_test, kinds, 10_000),
        'held out: CsI pair vacancy (unseen)': make(300.0, n_test, (('CsI',),), 20_000),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--n-train', type=int, default=48)
    parser.add_argument('--n-test', type=int, default=12)
    parser.add_argument('--epochs', type=int, default=60)
    parser.add_argument('--charge-epochs', type=int, default=60)
    parser.add_argument('--replicate', type=int, nargs=3, default=[1, 1, 1])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--train-seed', type=int,
                        help='seed of the networks\' initialisation and shuffling only (default: --seed; the data stay)')
    parser.add_argument('--charged', action='store_true',
                        help='single vacancies remove the ion (charged cells) instead of the neutral atom')
    parser.add_argument('--base', choices=('relaxed', 'ideal'), default='relaxed',
                        help='sample around the cells relaxed with GFN1-xTB (default) or the ideal 3.2 A ones')
    parser.add_argument('--train-temperature', type=float, default=300.0,
                        help='of the training rattle (K, nominal: a 300 K rattle holds about 1,400 K of harmonic energy; '
                             'default: %(default)s)')
    parser.add_argument('--skip-size', action='store_true', help='skip the size-convergence part (minutes)')
    parser.add_argument('--labels', help='keep the labelled sets here (extended XYZ) and reuse them when the same '
                                         'scale is asked again')
    parser.add_argument('--json', help='also write every figure here')
    parser.add_argument('--save', help='save the two trained models here (DIR/qeq, DIR/short-range; '
                                       'benchmarks/qeq_md.py runs MD with them)')
    parser.add_argument('--xtb-md-steps', type=int, default=0,
                        help='also hold out frames of GFN1-xTB Langevin MD at 200 K from each base cell and from each '
                             'with an (unseen) CsI pair vacancy, this many 2 fs steps (150: minutes per cell; cached in '
                             '--labels; default: none)')
    parser.add_argument('--xtb-md-train', type=float, nargs='+', default=[], metavar='K',
                        help='also train on frames of GFN1-xTB Langevin MD at these temperatures (not 200 K, which is '
                             'held out), from each base cell pristine, with an I and with a Cs vacancy (1 %% strain)')
    parser.add_argument('--stress-weight', type=float,
                        help='weight of the stress term of the loss (scale 0.005 eV/A^3; default: the product\'s, 20; '
                             'the documented figures not marked "stress weight 20" used 1)')
    parser.add_argument('--xtb-md-train-steps', type=int, default=100,
                        help='2 fs steps per training trajectory (a frame every 10 after the first 20)')
    args = parser.parse_args(argv)

    import torch
    from ase import units

    torch.set_num_threads(1)
    from aiida_perovskite.mlip import active, qeq, sampling, xtb

    settings = xtb.validate_settings({'method': 'GFN1-xTB', 'replicate': args.replicate})
    report = {'scale': vars(args)}
    print(f'scale: {vars(args)}; labels: GFN1-xTB, accuracy {settings["accuracy"]}, '
          f'{settings["electronic_temperature_k"]} K electronic temperature, replicate {settings["replicate"]}')
    if not args.skip_size:
        report['size'] = size_convergence({**settings, 'replicate': [1, 1, 1]})

    sets, seconds = {}, {}
    cells, label_settings = base_cells(args.base, settings, args.labels)
    report['labels'] = xtb.record(label_settings)
    for index, (name, configurations) in enumerate(datasets(cells, args.n_train, args.n_test, args.seed,
                                                            args.charged, args.train_temperature).items()):
        cache = None
        if args.labels:
            tag = (f'{args.n_train}-{args.n_test}-{args.seed}-{"x".join(map(str, args.replicate))}'
                   f'{"-charged" if args.charged else ""}{"-relaxed" if args.base == "relaxed" else ""}'
                   f'{"" if args.train_temperature == 300.0 else f"-train{args.train_temperature:g}K"}')
            cache = pathlib.Path(args.labels) / f'set{index}-{tag}.extxyz'
            if cache.is_file():
                sets[name] = xtb.read(cache)
                print(f'read {len(sets[name])} labelled configurations of {name} from {cache}', flush=True)
                continue
        started = time.perf_counter()
        labelled, failures, _ = xtb.label_all(configurations, label_settings)
        seconds[name] = time.perf_counter() - started
        sets[name] = labelled
        print(f'labelled {name}: {len(labelled)} of {len(configurations)} ({len(failures)} SCF failures) '
              f'in {seconds[name]:.0f} s', flush=True)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            xtb.write(cache, labelled)
    training = sets.pop('train')
    tag = f'{args.n_train}-{args.n_test}-{args.seed}-{"x".join(map(str, args.replicate))}-{args.base}'
    folder = pathlib.Path(args.labels or '.')
    if args.xtb_md_steps:
        cache = folder / f'xtb-md-200K-{args.xtb_md_steps}-{tag}.extxyz'
        sets['held out: xTB MD 200 K'] = xtb_trajectories(cells, label_settings, args.xtb_md_steps, cache)
        pairs = [sampling.vacancy(cell, 'CsI', seed=args.seed + index) for index, cell in enumerate(cells)]
        cache = folder / f'xtb-md-200K-CsI-{args.xtb_md_steps}-{tag}.extxyz'
        sets['held out: xTB MD 200 K, CsI pair'] = xtb_trajectories(pairs, label_settings, args.xtb_md_steps, cache,
                                                                     name='xtb-CsI', seed=51_000)
    if args.xtb_md_train:
        if 200.0 in args.xtb_md_train:
            parser.error('--xtb-md-train: 200 K is the held-out temperature')
        starts = active.starting_configurations(cells, 0.01, seed=args.seed)
        for temperature in args.xtb_md_train:
            for index, start in enumerate(starts):
                name = f'xtb-train-{temperature:g}K-{index}'
                cache = folder / f'{name}-{args.xtb_md_train_steps}-{tag}.extxyz'
                frames = xtb_trajectories([start], label_settings, args.xtb_md_train_steps, cache, temperature,
                                          skip=20, name=name, seed=60_000 + 100 * index + int(temperature))
                training = training + frames
        print(f'training set: {args.n_train} rattled configurations and {len(training) - args.n_train} GFN1-xTB MD '
              f'frames at {args.xtb_md_train} K', flush=True)

    rows, models = [], {}
    for variant, hyper in (('QEq', {'charges': True}), ('short range', {'charges': False})):
        started = time.perf_counter()
        weights = {**qeq.TRAINING['weights'], **({} if args.stress_weight is None else {'stress': args.stress_weight})}
        model, history = qeq.train(training, hyper, {'epochs': args.epochs, 'charge_epochs': args.charge_epochs,
                                                     'seed': args.seed if args.train_seed is None else args.train_seed,
                                                     'weights': weights})
        models[variant] = model
        if args.save:
            qeq.save(model, pathlib.Path(args.save) / variant.replace(' ', '-').lower())
        elapsed = time.perf_counter() - started
        print(f'trained {variant} in {elapsed:.0f} s; loss {history["all"][0]:.1f} -> {history["all"][-1]:.2f}',
              flush=True)
        for name, test in [(f'train ({args.train_temperature:g} K)', training), *sets.items()]:
            rows.append({'model': variant, 'set': name, 'train_seconds': elapsed, **qeq.errors(model, test)})
    for name, test in sets.items():
        rows.append({'model': 'baseline', 'set': name, **qeq.baselines(training, test)})
    # The held-out 150 K set by kind of configuration: pristine, and each defect seen in training.
    cold = sets['held out: 150 K']
    for kind in ('pristine', 'I', 'Cs'):
        subset = [a for a in cold if a.info['origin'].get('vacancy', 'pristine') == kind]
        if subset:
            name = f'  150 K, {kind if kind == "pristine" else kind + " vacancy"} only'
            for variant, model in models.items():
                rows.append({'model': variant, 'set': name, **qeq.errors(model, subset)})
            rows.append({'model': 'baseline', 'set': name, **qeq.baselines(training, subset)})

    print(f'\n3. Mean absolute errors against GFN1-xTB ({len(training)} training configurations)')
    print(f'{"model":<13}{"set":<38}{"E meV/atom":>11}{"F eV/A":>9}{"q e":>8}{"S GPa":>8}')
    for row in rows:
        if row['model'] == 'baseline':
            print(f'{"baseline":<13}{row["set"]:<38}{1000 * row["energy_mean_mae_ev_atom"]:>11.2f}'
                  f'{row["forces_zero_mae_ev_a"]:>9.3f}{row["charges_element_mean_mae_e"]:>8.4f}'
                  f'{row["stress_mean_mae_ev_a3"] / units.GPa:>8.3f}'
                  f'   (mean E/atom; composition fit {1000 * row["energy_composition_mae_ev_atom"]:.2f} meV/atom;'
                  ' zero forces; element-mean charges; mean stress)')
        else:
            charge = '-' if row['charges_mae_e'] is None else f'{row["charges_mae_e"]:.4f}'
            print(f'{row["model"]:<13}{row["set"]:<38}{1000 * row["energy_mae_ev_atom"]:>11.2f}'
                  f'{row["forces_mae_ev_a"]:>9.3f}{charge:>8}{row["stress_mae_ev_a3"] / units.GPa:>8.3f}')
    report['errors'] = rows

    print('\n4. Cost per force call (one core)')
    costs = []
    for atoms in (training[0], sets['held out: 150 K'][0]):
        for variant, model in models.items():
            calculator = qeq.calculator(model)
            copy = atoms.copy()
            copy.calc = calculator
            started = time.perf_counter()
            for _ in range(5):
                copy.calc.reset()
                copy.get_forces()
            model_seconds = (time.perf_counter() - started) / 5
            costs.append({'n_atoms': len(atoms), 'model': variant, 'seconds': model_seconds})
        started = time.perf_counter()
        xtb.label(atoms, label_settings)
        costs.append({'n_atoms': len(atoms), 'model': 'GFN1-xTB', 'seconds': time.perf_counter() - started})
    for cost in costs:
        print(f'{cost["n_atoms"]:>5} atoms  {cost["model"]:<12}{1000 * cost["seconds"]:>9.1f} ms')
    report['costs'] = costs
    if args.json:
        with open(args.json, 'w') as handle:
            json.dump(report, handle, indent=1, default=float)


if __name__ == '__main__':
    main()
