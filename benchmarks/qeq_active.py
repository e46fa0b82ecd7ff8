"""Active learning of the QEq potential (issue 18): does adding the MD frames a committee disagrees on help?

    OMP_NUM_THREADS=1 python benchmarks/qeq_active.py --labels DIR [--rounds 3] [--count 12] [--members 3]
        [--epochs 60] [--charge-epochs 60] [--xtb-md-steps 150] [--json FILE] [--save DIR]

1. Starts from ``benchmarks/qeq_potential.py``'s data at the same scale (run it first with the same
   ``--labels``, ``--n-train``, ``--n-test`` and ``--replicate 2 2 1``: its GFN1-xTB-relaxed cells and labelled
   sets are read from there): rattled, strained 300 K configurations of Cs2PbI4 and Cs3Pb2I7, a third with an
   I and a third with a Cs vacancy.
2. Held out, never trained on: (a) frames of GFN1-xTB's own Langevin MD at 200 K from each relaxed cell
   (``--xtb-md-steps`` steps of 2 fs, a frame every 10 after the first 40; cached in ``--labels``), the
   trajectories the potential is meant to reproduce; (b) the 150 K rattled set; (c) the unseen CsI pair vacancy.
3. Rounds of :func:`aiida_perovskite.mlip.active.loop`: a committee of ``--members`` QEq models, Langevin MD
   with the first at ``--temperatures`` (100 and 300 K) from strained pristine and defective cells, the ``--count`` frames
   with the largest committee force deviation inside the trust window labelled with GFN1-xTB and added.
   Stops when neither the held-out xTB-MD energy nor force error improves any more, or after ``--rounds``.
4. Per round: training size, the first member's errors on every held-out set beside the same-size model
   trained on as many more *rattled* configurations (``--control``: the same number of labels spent without the
   committee, to tell active learning from more data), selection counts and seconds.

Every number is printed; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from qeq_potential import base_cells, datasets, xtb_trajectories  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--labels', required=True, type=pathlib.Path,
                        help="benchmarks/qeq_potential.py's --labels folder (relaxed cells and labelled sets)")
    parser.add_argument('--n-train', type=int, default=72)
    parser.add_argument('--n-test', type=int, default=12)
    parser.add_argument('--replicate', type=int, nargs=3, default=[2, 2, 1])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--train-temperature', type=float, default=300.0,
                        help="the starting set's rattle temperature (K, nominal), as given to qeq_potential.py")
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--count', type=int, default=12, help='frames labelled per round')
    parser.add_argument('--members', type=int, default=3)
    parser.add_argument('--epochs', type=int, default=60)
    parser.add_argument('--charge-epochs', type=int, default=60)
    parser.add_argument('--stress-weight', type=float,
                        help='of the loss (default: the product\'s, 20; the documented runs used 1)')
    parser.add_argument('--steps', type=int, default=300, help='MD steps per exploring trajectory')
    parser.add_argument('--temperatures', type=float, nargs='+', default=[100.0, 300.0],
                        help='of the exploring MD (K; default: %(default)s, so the held-out 200 K is not among them)')
    parser.add_argument('--xtb-md-steps', type=int, default=150)
    parser.add_argument('--control', action='store_true',
                        help='also train on as many more rattled configurations as the loop added (labels them)')
    parser.add_argument('--json', type=pathlib.Path)
    parser.add_argument('--save', type=pathlib.Path, help="save the best round's first committee member here")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    from aiida_perovskite.mlip import active, qeq, xtb

    settings = xtb.validate_settings({'method': 'GFN1-xTB', 'replicate': args.replicate})
    cells, label_settings = base_cells('relaxed', settings, args.labels)
    tag = f'{args.n_train}-{args.n_test}-{args.seed}-{"x".join(map(str, args.replicate))}-relaxed'
    sets = {}
    cold = '' if args.train_temperature == 300.0 else f'-train{args.train_temperature:g}K'
    for index, name in enumerate(('train', '150 K', 'CsI pair')):
        path = args.labels / f'set{index}-{tag}{cold}.extxyz'
        if not path.is_file():
            raise SystemExit(f'{path} is missing: run benchmarks/qeq_potential.py --labels {args.labels} '
                             f'--n-train {args.n_train} --n-test {args.n_test} --replicate {" ".join(map(str, args.replicate))} '
                             f'--train-temperature {args.train_temperature:g} first')
        sets[name] = xtb.read(path)
    held_out = {'xTB MD 200 K': xtb_trajectories(cells, label_settings, args.xtb_md_steps,
                                                 args.labels / f'xtb-md-200K-{args.xtb_md_steps}-{tag}.extxyz'),
                '150 K rattled': sets['150 K'], 'CsI pair (unseen)': sets['CsI pair']}

    def label(configurations):
        labelled, failures, _ = xtb.label_all(configurations, label_settings)
        if failures:
            print(f'  {len(failures)} of {len(configurations)} frames failed to label: {failures[0]["message"]}')
        return labelled

    def progress(stage, done, total):
        if done == total:
            print(f'  {stage}: {done}/{total} done', flush=True)

    hyper = {'charges': True}
    training_settings = {'epochs': args.epochs, 'charge_epochs': args.charge_epochs, 'seed': args.seed}
    if args.stress_weight is not None:
        training_settings['weights'] = {'stress': args.stress_weight}
    loop_settings = {'members': args.members, 'count': args.count, 'max_rounds': args.rounds, 'steps': args.steps,
                     'temperatures_k': args.temperatures}
    started = time.perf_counter()
    models, grown, history = active.loop(sets['train'], held_out, cells, label, hyper, training_settings,
                                         loop_settings, seed=args.seed, progress=progress)
    print(f'active learning: {len(history)} rounds, {len(grown) - len(sets["train"])} frames added, '
          f'{time.perf_counter() - started:.0f} s', flush=True)
    added = args.labels / f'active-{tag}{cold}-{args.rounds}x{args.count}-seed{args.seed}.extxyz'
    xtb.write(added, grown[len(sets['train']):])
    print(f'the added frames (labelled, with their origin) are in {added}')
    rows = [{'model': f'round {entry["round"]} ({entry["n_training"]} configurations)', 'set': name, **errors}
            for entry in (history[0], history[-1]) for name, errors in entry['held_out'].items()]
    if args.control and len(grown) > len(sets['train']):
        extra = len(grown) - len(sets['train'])
        more = datasets(cells, extra, 0, args.seed + 77_777, train_temperature=args.train_temperature)['train']
        control, _ = qeq.train(sets['train'] + label(more), hyper, training_settings)
        for name, data in held_out.items():
            rows.append({'model': f'control: +{extra} rattled ({len(sets["train"]) + extra})', 'set': name,
                         **qeq.errors(control, data)})
    for name, data in held_out.items():
        base = qeq.baselines(sets['train'], data)
        rows.append({'model': 'baseline', 'set': name, 'energy_mae_ev_atom': base['energy_composition_mae_ev_atom'],
                     'forces_mae_ev_a': base['forces_zero_mae_ev_a'], 'charges_mae_e': base['charges_element_mean_mae_e']})
    if args.save:
        qeq.save(models[0], args.save)

    print('\nPer round (first member on the held-out GFN1-xTB MD frames; * the best round, whose committee is kept)')
    print(f'{"round":>5}{"n train":>8}{"E meV/atom":>11}{"F eV/A":>8}{"q e":>8}{"frames":>8}{"in window":>10}'
          f'{"max dev":>8}{"added":>6}{"s":>6}')
    for entry in history:
        errors, selection = entry['errors'], entry.get('selection', {})
        seconds = entry['train_seconds'] + entry.get('explore_seconds', 0) + entry.get('label_seconds', 0)
        print(f'{str(entry["round"]) + ("*" if entry.get("best") else ""):>5}{entry["n_training"]:>8}{1000 * errors["energy_mae_ev_atom"]:>11.2f}'
              f'{errors["forces_mae_ev_a"]:>8.3f}{errors["charges_mae_e"]:>8.4f}{entry.get("n_frames", "-"):>8}'
              f'{selection.get("inside", "-"):>10}{selection.get("max_force_deviation_ev_a") or float("nan"):>8.2f}'
              f'{entry.get("n_labelled", "-"):>6}{seconds:>6.0f}')
    print('\nHeld-out errors, start and end (baseline: composition fit, zero forces, element-mean charges)')
    print(f'{"model":<36}{"set":<20}{"E meV/atom":>11}{"F eV/A":>8}{"q e":>8}')
    for row in rows:
        charge = row.get('charges_mae_e')
        print(f'{row["model"]:<36}{row["set"]:<20}{1000 * row["energy_mae_ev_atom"]:>11.2f}{row["forces_mae_ev_a"]:>8.3f}'
              f'{"-" if charge is None else f"{charge:.4f}":>8}')
    if args.json:
        args.json.write_text(json.dumps({'scale': {k: str(v) for k, v in vars(args).items()}, 'history': history,
                                         'rows': rows}, indent=1, default=float))
    return 0


if __name__ == '__main__':
    np.seterr(all='ignore')
    sys.exit(main())
