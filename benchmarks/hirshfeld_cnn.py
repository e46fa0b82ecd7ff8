"""Hirshfeld-fingerprint CNN (seed 003) against CGCNN, Random Forests and the mean on the dj-dft cells (issue 19).

Labels: ``08-hse-frontier.csv`` (HSE band edges of the inorganic layer at Gamma, the spacer's HOMO and LUMO, the
band alignment type as a classification) and ``07-structure-info.csv`` (inter-layer distance). Splits: K folds
grouped by spacer (``01-organic-genome.csv`` SMILES of each cell), repeated over seeds; every model sees the same
folds. Models: mean baseline (majority class for the alignment), Random Forest on the thesis features
(:func:`aiida_perovskite.analysis.structure_features`), Random Forest on the Hirshfeld contact summaries,
CGCNN, the fingerprint CNN from scratch and the CNN with transfer (feature layers pretrained on the cell's
volume per atom, a structural target read from the CIF, on the training cells of the fold; then frozen).
Learning curves: the CNNs on fractions of each training fold. Times are CPU seconds on one thread.

Fingerprints are cached on disk by the SHA-1 of the CIF bytes and the settings key (``--cache``), so a second
run reuses them; ``fingerprints`` computes them (``--jobs`` processes), ``train`` uses those cached.

Usage::

    python benchmarks/hirshfeld_cnn.py fingerprints [--limit N] [--all] [--jobs 1]
    python benchmarks/hirshfeld_cnn.py train [--limit N] [--seeds 3] [--folds 5] [--epochs 60] [--jobs 2]
        [--curve d_interlayer,inorganic_vbm_gamma] [--output scores.csv]
    python benchmarks/hirshfeld_cnn.py report --output scores.csv --figures docs/source/method/hirshfeld
"""

from __future__ import annotations

import os

os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / 'shared' / 'data'
CIFS = SHARED / 'cifs' / 'dj-dft'
TABLES = SHARED / 'tables'
DEFAULT_CACHE = pathlib.Path(os.environ.get('XDG_CACHE_HOME', pathlib.Path.home() / '.cache')) / 'aiida-perovskite'
REGRESSION = ('inorganic_cbm_gamma', 'inorganic_vbm_gamma', 'organic_LUMO', 'organic_HOMO', 'd_interlayer')
CLASSIFICATION = 'alignment_type'


def labelled_cells(limit: int | None, unlabelled: bool = False):
    """(identifier, path) of the cells with HSE labels, in a fixed random order (a prefix is a random subset).

    With ``unlabelled`` the cells without labels follow (in file order), so the fingerprints cover every cell.
    """
    import pandas as pd

    frontier = pd.read_csv(TABLES / '08-hse-frontier.csv')
    ids = sorted(int(i) for i in frontier['identifier'] if (CIFS / f'{int(i):05d}.cif').is_file())
    ids = list(np.random.default_rng(19).permutation(ids))
    ids = ids[:limit] if limit else ids
    if unlabelled:
        known = set(int(i) for i in frontier['identifier'])
        ids += [int(path.stem) for path in sorted(CIFS.glob('*.cif')) if int(path.stem) not in known]
    return [(int(i), CIFS / f'{int(i):05d}.cif') for i in ids]


def cache_path(cache: pathlib.Path, path: pathlib.Path, settings) -> pathlib.Path:
    digest = hashlib.sha1(path.read_bytes()).hexdigest()
    return cache / f'hirshfeld-{settings.key()}' / f'{digest}.npz'


def fingerprint_cached(args):
    """Compute (or read) one cell's fingerprint; returns (identifier, seconds or None when cached, error)."""
    identifier, path, cache = args
    from aiida_perovskite.fingerprint import FingerprintSettings, hirshfeld_fingerprint

    settings = FingerprintSettings()
    target = cache_path(cache, path, settings)
    if target.is_file():
        return identifier, None, None
    try:
        result = hirshfeld_fingerprint(path, settings)
    except Exception as error:  # noqa: BLE001 - one bad cell is reported, the others go on
        return identifier, None, f'{type(error).__name__}: {error}'
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix('.part.npz')
    np.savez(partial, image=result.image.astype(np.float32), outside=result.outside,
             summaries=json.dumps(result.summaries), n_unique=result.n_unique, seconds=result.seconds)
    partial.rename(target)
    return identifier, result.seconds, None


def run_fingerprints(options) -> int:
    import multiprocessing

    cells = labelled_cells(options.limit, unlabelled=options.all)
    work = [(identifier, path, options.cache) for identifier, path in cells]
    started = time.perf_counter()
    seconds, cached, errors = [], 0, []
    with multiprocessing.get_context('spawn').Pool(options.jobs) as pool:
        for number, (identifier, took, error) in enumerate(pool.imap_unordered(fingerprint_cached, work), 1):
            if error:
                errors.append((identifier, error))
            elif took is None:
                cached += 1
            else:
                seconds.append(took)
            if number % 10 == 0 or number == len(work):
                print(f'{number}/{len(work)} cells, {len(seconds)} computed, {cached} cached, {len(errors)} failed, '
                      f'{time.perf_counter() - started:.0f} s', flush=True)
    wall = time.perf_counter() - started
    if seconds:
        print(f'per structure (one thread): mean {np.mean(seconds):.1f} s, median {np.median(seconds):.1f} s, '
              f'max {np.max(seconds):.1f} s; wall {wall:.0f} s with {options.jobs} process(es); '
              f'projected 472 cells: {472 * np.mean(seconds) / 3600 / options.jobs:.2f} h on {options.jobs} core(s)')
    for identifier, error in errors:
        print(f'{identifier:05d}.cif: {error}')
    return 0


# ---------------------------------------------------------------------------------------------------------------
def load_dataset(options):
    """Labels, thesis features, Hirshfeld images and summaries, and crystal graphs of the cached cells."""
    import pandas as pd
    from pymatgen.core import Structure

    from aiida_perovskite.analysis import structure_features
    from aiida_perovskite.fingerprint import FingerprintSettings
    from aiida_perovskite.fingerprint.graph import crystal_graph
    from aiida_perovskite.structure import StructureError, inspect_cif

    frontier = pd.read_csv(TABLES / '08-hse-frontier.csv').set_index('identifier')
    geometry = pd.read_csv(TABLES / '07-structure-info.csv').set_index('identifier')
    genome = pd.read_csv(TABLES / '01-organic-genome.csv').set_index('identifier')
    settings = FingerprintSettings()
    rows, images, graphs, skipped = [], [], [], []
    for identifier, path in labelled_cells(options.limit):
        target = cache_path(options.cache, path, settings)
        if not target.is_file() or identifier not in geometry.index:
            skipped.append(identifier)
            continue
        with np.load(target, allow_pickle=False) as data:
            image, summaries = data['image'], json.loads(str(data['summaries']))
        try:
            thesis = structure_features(inspect_cif(path).as_dict())
        except StructureError:
            thesis = {}
        structure = Structure.from_file(str(path))
        rows.append({'identifier': identifier, 'spacer': genome.loc[identifier, 'smiles_canonical'],
                     'volume_per_atom': structure.volume / len(structure),
                     **{name: frontier.loc[identifier, name] for name in (*REGRESSION[:4], CLASSIFICATION)},
                     'd_interlayer': geometry.loc[identifier, 'd_interlayer'],
                     **{f'hirshfeld:{k}': v for k, v in summaries.items()}, **thesis})
        images.append(image)
        graphs.append(crystal_graph(structure))
    frame = pd.DataFrame(rows)
    return frame, np.array(images), graphs, skipped


def ring_system(smiles: str) -> str:
    """The spacer's family: its ring system with the chains and substituents cut off and the ring atoms' positions
    forgotten (a generic Murcko scaffold: every benzene-cored spacer is one family), ``acyclic`` without rings."""
    import re

    from openbabel import openbabel as ob
    from openbabel import pybel

    ob.obErrorLog.SetOutputLevel(0)
    molecule = pybel.readstring('smi', smiles).OBMol
    molecule.DeleteHydrogens()
    # Cut chain atoms from the ends inwards until only rings and the links between them are left.
    while ends := [atom for atom in ob.OBMolAtomIter(molecule) if not atom.IsInRing() and atom.GetHvyDegree() <= 1]:
        molecule.DeleteAtom(ends[0])
    if molecule.NumAtoms() == 0:
        return 'acyclic'
    text = pybel.Molecule(molecule).write('can').split()[0]
    # The cut bonds leave radicals ([c], [C]): as plain atoms, the same ring system reads the same.
    return pybel.readstring('smi', re.sub(r'\[([cCnNoOsS])\]', r'\1', text)).write('can').split()[0]


def folds(groups, n_folds: int, seed: int):
    from sklearn.model_selection import GroupKFold

    for train, test in GroupKFold(n_folds, shuffle=True, random_state=seed).split(groups, groups=groups):
        assert not set(groups[train]) & set(groups[test])
        yield train, test


def metrics(true, predicted, classification=False) -> dict:
    if classification:
        return {'accuracy': float(np.mean(np.asarray(true) == np.asarray(predicted)))}
    true, predicted = np.asarray(true, float), np.asarray(predicted, float)
    error = predicted - true
    return {'mae': float(np.abs(error).mean()), 'rmse': float(np.sqrt((error**2).mean())),
            'r2': float(1 - (error**2).sum() / ((true - true.mean()) ** 2).sum())}


def forest(classification: bool, seed: int):
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    kind = RandomForestClassifier if classification else RandomForestRegressor
    return kind(n_estimators=200, min_samples_leaf=2, max_features=0.5, random_state=seed, n_jobs=1)


def fit_predict(model_name, target, frame, images, graphs, train, test, seed, options):
    """Predictions of ``model_name`` for the ``test`` rows after training on ``train``; (predictions, seconds)."""
    from aiida_perovskite.ml.networks import NetworkModel

    classification = target == CLASSIFICATION
    y = frame[target].to_numpy()
    started = time.process_time()
    if model_name == 'mean':
        if classification:
            values, counts = np.unique(y[train], return_counts=True)
            predicted = np.full(len(test), values[np.argmax(counts)], dtype=object)
        else:
            predicted = np.full(len(test), y[train].astype(float).mean())
    elif model_name.startswith('rf_'):
        family = 'hirshfeld:' if model_name == 'rf_hirshfeld' else None
        columns = [c for c in frame.columns if (c.startswith(family) if family else
                                               (':' in c and not c.startswith('hirshfeld:')))]
        features = frame[columns].astype(float).fillna(frame[columns].astype(float).median()).fillna(0.0).to_numpy()
        model = forest(classification, seed).fit(features[train], y[train])
        predicted = model.predict(features[test])
    else:
        classes = sorted(set(y)) if classification else None
        recipe = {'epochs': options.epochs, 'batch_size': 16, 'seed': seed, 'learning_rate': 1e-3}
        if model_name == 'cgcnn':
            shape = {'node_length': graphs[0].nodes.shape[1], 'edge_length': graphs[0].edges.shape[2],
                     'atom_length': options.cgcnn_width}
            model = NetworkModel('cgcnn', shape, classes=classes, **{**recipe, 'epochs': options.cgcnn_epochs})
            model.fit([graphs[k] for k in train], y[train])
            predicted = model.predict([graphs[k] for k in test])
        else:
            shape = {'in_channels': images.shape[1], 'bins': images.shape[2]}
            if model_name == 'cnn_transfer':
                # The source network (volume per atom) depends only on the training cells and seed: trained once
                # per fold and reused for every target (its CPU time is counted where it is trained).
                key = (seed, hashlib.sha1(np.asarray(train).tobytes()).hexdigest())
                if key not in _SOURCES:
                    _SOURCES.clear()
                    _SOURCES[key] = NetworkModel('hirshfeld_cnn', shape, **recipe).fit(
                        images[train], frame['volume_per_atom'].to_numpy()[train])
                model = _SOURCES[key].transfer(classes=classes, epochs=options.epochs)
            else:
                model = NetworkModel('hirshfeld_cnn', shape, classes=classes, **recipe)
            model.fit(images[train], y[train])
            predicted = model.predict(images[test])
    return predicted, time.process_time() - started


#: The transfer source of the current fold (one per worker process).
_SOURCES: dict = {}

MODELS = ('mean', 'rf_thesis', 'rf_hirshfeld', 'cgcnn', 'cnn_scratch', 'cnn_transfer')


#: The dataset of the training stage, set before the worker processes fork (they read it, never copy it back).
_DATA: dict = {}


def worker_data():
    """In a worker process: one torch thread, and the dataset the parent loaded before it forked."""
    import torch

    torch.set_num_threads(1)
    return tuple(_DATA[key] for key in ('frame', 'images', 'graphs', 'options'))


def labelled(frame, target, *rows):
    """Each array of row indices without the rows whose ``target`` is missing."""
    valid = frame[target].notna().to_numpy()
    return tuple(r[valid[r]] for r in rows)


def fold_task(task):
    """Every target and model on one (seed, fold): the score records and the out-of-fold predictions."""
    seed, fold, train, test = task
    frame, images, graphs, options = worker_data()
    records, predictions = [], []
    for target in options.targets.split(','):
        train_rows, test_rows = labelled(frame, target, train, test)
        truth = frame[target].to_numpy()[test_rows]
        for name in options.models.split(','):
            predicted, seconds = fit_predict(name, target, frame, images, graphs, train_rows, test_rows, seed, options)
            scores = metrics(truth, predicted, target == CLASSIFICATION)
            records.append({'seed': seed, 'fold': fold, 'target': target, 'model': name,
                            'n_train': len(train_rows), 'cpu_s': seconds, **scores})
            predictions += [{'seed': seed, 'fold': fold, 'target': target, 'model': name,
                             'identifier': int(frame['identifier'].iloc[row]), 'true': value, 'predicted': guess}
                            for row, value, guess in zip(test_rows, truth, predicted)]
    return seed, fold, records, predictions


def run_train(options) -> int:
    import multiprocessing

    import pandas as pd

    started = time.perf_counter()
    frame, images, graphs, skipped = load_dataset(options)
    print(f'{len(frame)} labelled cells with cached fingerprints ({len(skipped)} without: run `fingerprints`); '
          f'{frame["spacer"].nunique()} spacers; loaded in {time.perf_counter() - started:.0f} s', flush=True)
    groups = frame['spacer'].to_numpy()
    if options.group == 'ring-system':
        groups = np.array([ring_system(smiles) for smiles in groups])
        print(f'grouped by ring system: {len(set(groups))} families (largest {max(np.unique(groups, return_counts=True)[1])} cells)',
              flush=True)
    tasks = [(seed, fold, train, test) for seed in range(options.seeds)
             for fold, (train, test) in enumerate(folds(groups, options.folds, seed))]
    _DATA.update(frame=frame, images=images, graphs=graphs, options=options)
    records, predictions = [], []
    # fork: the workers share the loaded dataset; each trains with one torch thread.
    with multiprocessing.get_context('fork').Pool(options.jobs) as pool:
        for done, (seed, fold, scores, predicted) in enumerate(pool.imap_unordered(fold_task, tasks), 1):
            records += scores
            predictions += predicted
            print(f'seed {seed} fold {fold} done ({done}/{len(tasks)}), {time.perf_counter() - started:.0f} s',
                  flush=True)
    table = pd.DataFrame(records)
    if len(table):
        table = table.sort_values(['seed', 'fold', 'target', 'model'])
        print_table(table)
    curves = curve(frame, groups, options) if options.curve else None
    if options.output:
        table.to_csv(options.output, index=False)
        pd.DataFrame(predictions).to_csv(options.output.with_suffix('.predictions.csv'), index=False)
        if curves is not None:
            curves.to_csv(options.output.with_suffix('.curves.csv'), index=False)
    print(f'wall {time.perf_counter() - started:.0f} s with {options.jobs} process(es)')
    return 0


def print_table(table):
    """Per target and model: mean and spread (std over seeds of the fold-averaged score) of each metric."""
    per_seed = table.groupby(['target', 'model', 'seed']).mean(numeric_only=True)
    summary = per_seed.groupby(['target', 'model']).agg(['mean', 'std'])
    for target, block in summary.groupby(level=0):
        print(f'\n{target}')
        for (_, model), row in block.iterrows():
            cells = []
            for metric in ('mae', 'rmse', 'r2', 'accuracy'):
                if (metric, 'mean') in row and np.isfinite(row[(metric, 'mean')]):
                    cells.append(f'{metric} {row[(metric, "mean")]:.3f} +- {row[(metric, "std")]:.3f}')
            cells.append(f'cpu {row[("cpu_s", "mean")]:.1f} s/fit')
            print(f'  {model:14s} ' + ', '.join(cells))


FRACTIONS = (0.125, 0.25, 0.5, 1.0)


def curve_task(task):
    """One learning-curve point: ``model`` trained on ``fraction`` of one training fold (seed 0)."""
    target, fraction, name, fold, train, test = task
    frame, images, graphs, options = worker_data()
    train, test = labelled(frame, target, train, test)
    subset = np.random.default_rng(fold).choice(train, min(len(train), max(4, int(round(fraction * len(train))))),
                                                replace=False)
    predicted, seconds = fit_predict(name, target, frame, images, graphs, subset, test, 0, options)
    return {'target': target, 'fraction': fraction, 'model': name, 'fold': fold, 'n_train': len(subset),
            'cpu_s': seconds, **metrics(frame[target].to_numpy()[test], predicted)}


def curve(frame, groups, options):
    """Test MAE of the models trained on fractions of each training fold (seed 0), per ``--curve`` target."""
    import multiprocessing

    import pandas as pd

    split = list(folds(groups, options.folds, 0))
    tasks = [(target, fraction, name, fold, train, test) for target in options.curve.split(',')
             for fraction in FRACTIONS for name in options.curve_models.split(',')
             for fold, (train, test) in enumerate(split)]
    with multiprocessing.get_context('fork').Pool(options.jobs) as pool:
        table = pd.DataFrame(pool.map(curve_task, tasks, chunksize=1))
    for target, block in table.groupby('target'):
        print(f'\nlearning curve, {target} (seed 0, test MAE averaged over the folds; training cells):')
        summary = block.groupby(['fraction', 'model'])[['mae', 'n_train']].mean().unstack('model')
        for fraction, row in summary.iterrows():
            cells = [f'{name} {row[("mae", name)]:.3f}' for name in options.curve_models.split(',')]
            print(f'  {fraction:5.3f} ({row["n_train"].iloc[0]:.0f} cells): ' + ', '.join(cells), flush=True)
    return table


LABELS = {'inorganic_cbm_gamma': 'inorganic CBM at Gamma (eV)', 'inorganic_vbm_gamma': 'inorganic VBM at Gamma (eV)',
          'organic_LUMO': 'organic LUMO (eV)', 'organic_HOMO': 'organic HOMO (eV)',
          'd_interlayer': 'inter-layer distance (A)'}


def run_report(options) -> int:
    """Figures from a ``train --output`` run: parity plots (seed 0, every model), learning curves, and one example
    fingerprint per band-alignment type (the cell whose image is nearest its type's mean image)."""
    import pandas as pd
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure

    from aiida_perovskite.fingerprint import FingerprintSettings
    from aiida_perovskite.fingerprint.hirshfeld import CHANNELS

    if options.output is None or not options.output.is_file():
        print('report needs --output, the score CSV of a `train --output` run')
        return 1
    folder = options.figures
    folder.mkdir(parents=True, exist_ok=True)
    scores = pd.read_csv(options.output)
    predictions = pd.read_csv(options.output.with_suffix('.predictions.csv'))
    models = [m for m in MODELS if m in set(predictions['model']) and m != 'mean']
    per_seed = scores.groupby(['target', 'model', 'seed']).mean(numeric_only=True)
    spread = per_seed.groupby(['target', 'model']).agg(['mean', 'std'])
    colours = colormaps['tab10']
    for target in [t for t in REGRESSION if t in set(predictions['target'])]:
        figure = Figure(figsize=(3.0 * len(models), 3.2))
        rows = predictions[(predictions['target'] == target) & (predictions['seed'] == 0)]
        limits = [rows[['true', 'predicted']].astype(float).min().min(), rows[['true', 'predicted']].astype(float).max().max()]
        for k, model in enumerate(models, 1):
            axes = figure.add_subplot(1, len(models), k)
            for fold, block in rows[rows['model'] == model].groupby('fold'):
                axes.scatter(block['true'].astype(float), block['predicted'].astype(float), s=8, alpha=0.6,
                             color=colours(int(fold) % 10))
            axes.plot(limits, limits, color='0.4', lw=0.8)
            mae = spread.loc[(target, model), ('mae', 'mean')]
            mae_spread = spread.loc[(target, model), ('mae', 'std')]
            axes.set_title(f'{model}\nMAE {mae:.3f} ± {mae_spread:.3f}', fontsize=9)
            axes.set_xlabel(f'HSE / DFT {LABELS[target]}', fontsize=8)
            if k == 1:
                axes.set_ylabel('predicted (out of fold)', fontsize=8)
            axes.tick_params(labelsize=7)
        figure.tight_layout()
        figure.savefig(folder / f'parity-{target}.png', dpi=90)
    curves_path = options.output.with_suffix('.curves.csv')
    if curves_path.is_file():
        curves = pd.read_csv(curves_path)
        targets = sorted(set(curves['target']))
        figure = Figure(figsize=(4.2 * len(targets), 3.4))
        for k, target in enumerate(targets, 1):
            axes = figure.add_subplot(1, len(targets), k)
            mean = curves[curves['target'] == target].groupby(['model', 'fraction'])[['n_train', 'mae']].mean()
            for j, (model, block) in enumerate(mean.groupby(level=0)):
                axes.plot(block['n_train'], block['mae'], marker='os^Dv'[j % 5], label=model)
            axes.set_xscale('log')
            axes.set_xlabel('training cells', fontsize=8)
            axes.set_ylabel(f'test MAE, {LABELS[target]}', fontsize=8)
            axes.legend(fontsize=7)
            axes.tick_params(labelsize=7)
        figure.tight_layout()
        figure.savefig(folder / 'learning-curves.png', dpi=90)
    # One example fingerprint per alignment type.
    frontier = pd.read_csv(TABLES / '08-hse-frontier.csv').set_index('identifier')
    settings = FingerprintSettings()
    images = {}
    for identifier, path in labelled_cells(None):
        target = cache_path(options.cache, path, settings)
        if target.is_file():
            with np.load(target, allow_pickle=False) as data:
                images[identifier] = data['image']
    kinds = sorted(set(frontier.loc[list(images), 'alignment_type']))
    shown = ('all', 'H-X', 'H-H')
    figure = Figure(figsize=(2.6 * len(kinds), 2.5 * len(shown)))
    edges = settings.edges
    for column, kind in enumerate(kinds):
        members = [i for i in images if frontier.loc[i, 'alignment_type'] == kind]
        centre = np.mean([images[i] for i in members], axis=0)
        example = min(members, key=lambda i: np.abs(images[i] - centre).sum())
        for row, channel in enumerate(shown):
            axes = figure.add_subplot(len(shown), len(kinds), row * len(kinds) + column + 1)
            image = images[example][CHANNELS.index(channel)]
            positive = image[image > 0]
            if positive.size:
                axes.pcolormesh(edges, edges, np.where(image > 0, image, np.nan), cmap='viridis',
                                norm=LogNorm(vmin=max(positive.min(), positive.max() * 1e-4), vmax=positive.max()))
            axes.set_aspect('equal')
            axes.set_title(f'type {kind} ({len(members)} cells): {example:05d}, {channel}', fontsize=8)
            axes.set_xlabel('d_e (A)', fontsize=7)
            axes.set_ylabel('d_i (A)', fontsize=7)
            axes.tick_params(labelsize=6)
    figure.tight_layout()
    figure.savefig(folder / 'fingerprints-by-alignment.png', dpi=90)
    print(f'figures in {folder}: ' + ', '.join(sorted(path.name for path in folder.glob('*.png'))))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('stage', choices=('fingerprints', 'train', 'report'))
    parser.add_argument('--limit', type=int, default=None, help='the first N labelled cells (a random subset)')
    parser.add_argument('--all', action='store_true', help='fingerprints: the unlabelled cells too (all 472)')
    parser.add_argument('--cache', type=pathlib.Path, default=DEFAULT_CACHE)
    parser.add_argument('--jobs', type=int, default=1, help='processes (fingerprints: cells; train: seed x fold)')
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--folds', type=int, default=5)
    parser.add_argument('--epochs', type=int, default=60)
    parser.add_argument('--cgcnn-epochs', type=int, default=30, help='CGCNN costs ~30x the CNN per epoch on CPU')
    parser.add_argument('--cgcnn-width', type=int, default=32, help='atom vector length (the paper: 64)')
    parser.add_argument('--group', choices=('spacer', 'ring-system'), default='spacer',
                        help='folds keep each spacer (or each ring-system family of spacers) on one side')
    parser.add_argument('--targets', default=','.join((*REGRESSION, CLASSIFICATION)))
    parser.add_argument('--models', default=','.join(MODELS))
    parser.add_argument('--curve', default='', help='regression targets for the learning curves, comma-separated')
    parser.add_argument('--curve-models', default='cnn_scratch,cnn_transfer,cgcnn,rf_thesis')
    parser.add_argument('--output', type=pathlib.Path, default=None,
                        help='CSV of every fold score (with .predictions.csv and .curves.csv beside it)')
    parser.add_argument('--figures', type=pathlib.Path, default=pathlib.Path('hirshfeld-figures'),
                        help='report: folder for the figures')
    options = parser.parse_args(argv)
    if not CIFS.is_dir():
        print(f'needs the shared data at {CIFS} (absent)')
        return 1
    return {'fingerprints': run_fingerprints, 'train': run_train, 'report': run_report}[options.stage](options)


if __name__ == '__main__':
    sys.exit(main())
