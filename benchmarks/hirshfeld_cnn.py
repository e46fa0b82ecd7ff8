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

    python benchmarks/hirshfeld_cnn.py fingerprints [--limit N] [--jobs 1]
    python benchmarks/hirshfeld_cnn.py train [--limit N] [--seeds 3] [--folds 5] [--epochs 60]
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


def labelled_cells(limit: int | None):
    """(identifier, path) of the cells with HSE labels, in a fixed random order (a prefix is a random subset)."""
    import pandas as pd

    frontier = pd.read_csv(TABLES / '08-hse-frontier.csv')
    ids = sorted(int(i) for i in frontier['identifier'] if (CIFS / f'{int(i):05d}.cif').is_file())
    ids = list(np.random.default_rng(19).permutation(ids))
    ids = ids[:limit] if limit else ids
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

    cells = labelled_cells(options.limit)
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
                source = NetworkModel('hirshfeld_cnn', shape, **recipe)
                source.fit(images[train], frame['volume_per_atom'].to_numpy()[train])
                model = source.transfer(classes=classes, epochs=options.epochs)
            else:
                model = NetworkModel('hirshfeld_cnn', shape, classes=classes, **recipe)
            model.fit(images[train], y[train])
            predicted = model.predict(images[test])
    return predicted, time.process_time() - started


MODELS = ('mean', 'rf_thesis', 'rf_hirshfeld', 'cgcnn', 'cnn_scratch', 'cnn_transfer')


def run_train(options) -> int:
    import pandas as pd
    import torch

    torch.set_num_threads(1)
    started = time.perf_counter()
    frame, images, graphs, skipped = load_dataset(options)
    print(f'{len(frame)} labelled cells with cached fingerprints ({len(skipped)} without: run `fingerprints`); '
          f'{frame["spacer"].nunique()} spacers; loaded in {time.perf_counter() - started:.0f} s', flush=True)
    groups = frame['spacer'].to_numpy()
    targets = [t for t in options.targets.split(',')]
    models = [m for m in options.models.split(',')]
    records = []
    for seed in range(options.seeds):
        for fold, (train, test) in enumerate(folds(groups, options.folds, seed)):
            for target in targets:
                valid = frame[target].notna().to_numpy()
                train_rows, test_rows = train[valid[train]], test[valid[test]]
                for name in models:
                    predicted, seconds = fit_predict(name, target, frame, images, graphs, train_rows, test_rows,
                                                     seed, options)
                    scores = metrics(frame[target].to_numpy()[test_rows], predicted, target == CLASSIFICATION)
                    records.append({'seed': seed, 'fold': fold, 'target': target, 'model': name,
                                    'n_train': len(train_rows), 'cpu_s': seconds, **scores})
            print(f'seed {seed} fold {fold} done, {time.perf_counter() - started:.0f} s', flush=True)
    table = pd.DataFrame(records)
    print_table(table)
    if options.curve:
        curve(frame, images, graphs, groups, options)
    if options.output:
        table.to_csv(options.output, index=False)
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


def curve(frame, images, graphs, groups, options):
    """Test MAE of the models trained on fractions of each training fold (seed 0)."""
    target = options.curve
    print(f'\nlearning curve, {target} (seed 0, MAE over folds):')
    for fraction in (0.25, 0.5, 1.0):
        line = []
        for name in options.curve_models.split(','):
            errors = []
            for train, test in folds(groups, options.folds, 0):
                rng = np.random.default_rng(0)
                subset = rng.choice(train, min(len(train), max(4, int(round(fraction * len(train))))), replace=False)
                predicted, _ = fit_predict(name, target, frame, images, graphs, subset, test, 0, options)
                errors.append(metrics(frame[target].to_numpy()[test], predicted)['mae'])
            line.append(f'{name} {np.mean(errors):.3f}')
        print(f'  {fraction:4.2f} of the training folds: ' + ', '.join(line), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('stage', choices=('fingerprints', 'train'))
    parser.add_argument('--limit', type=int, default=None, help='the first N labelled cells (a random subset)')
    parser.add_argument('--cache', type=pathlib.Path, default=DEFAULT_CACHE)
    parser.add_argument('--jobs', type=int, default=1)
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--folds', type=int, default=5)
    parser.add_argument('--epochs', type=int, default=60)
    parser.add_argument('--cgcnn-epochs', type=int, default=30, help='CGCNN costs ~30x the CNN per epoch on CPU')
    parser.add_argument('--cgcnn-width', type=int, default=32, help='atom vector length (the paper: 64)')
    parser.add_argument('--targets', default=','.join((*REGRESSION, CLASSIFICATION)))
    parser.add_argument('--models', default=','.join(MODELS))
    parser.add_argument('--curve', default='', help='a regression target for the learning curves ("" for none)')
    parser.add_argument('--curve-models', default='cnn_scratch,cnn_transfer,cgcnn,rf_thesis')
    parser.add_argument('--output', type=pathlib.Path, default=None, help='CSV of every fold score')
    options = parser.parse_args(argv)
    if not CIFS.is_dir():
        print(f'needs the shared data at {CIFS} (absent)')
        return 1
    return run_fingerprints(options) if options.stage == 'fingerprints' else run_train(options)


if __name__ == '__main__':
    sys.exit(main())
