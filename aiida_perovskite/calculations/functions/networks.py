"""Calcfunctions of the network models (seed 003): train a fingerprint CNN or CGCNN on labelled structures, and
predict with one, each step a provenance node.

The networks themselves are :mod:`aiida_perovskite.ml.networks` (no AiiDA). Inputs of one structure: its
fingerprint (``ArrayData`` of :func:`~aiida_perovskite.calculations.functions.fingerprint.hirshfeld_fingerprint`)
for ``hirshfeld_cnn``, its ``StructureData`` for ``cgcnn``; and its structure features (``Dict`` of
:func:`~aiida_perovskite.calculations.functions.targets.compute_features`), which set the model's applicability
domain, as for the other models.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from aiida_perovskite.calculations.functions.learning import json_ready, own_versions
from aiida_perovskite.data import TrainedModelData

#: Prefixes of the per-structure inputs of :func:`train_network` (``input_<name>``, ``features_<name>``).
INPUT, FEATURES = 'input_', 'features_'


def _network_inputs(family: str, nodes: list, graph_settings: dict | None = None):
    """(inputs for :class:`~aiida_perovskite.ml.networks.NetworkModel`, the settings they were made with).

    A fingerprint carries its own settings; ``graph_settings`` (CGCNN only) say how to make the crystal graphs.
    """
    import numpy as np

    if family == 'hirshfeld_cnn':
        if not all(isinstance(node, orm.ArrayData) and node.base.attributes.get('fingerprint', None) for node in nodes):
            raise ValueError('hirshfeld_cnn learns from fingerprints: every input must be a fingerprint ArrayData')
        keys = {node.base.attributes.get('settings_key') for node in nodes}
        if len(keys) != 1:
            raise ValueError(f'the fingerprints were made with {len(keys)} different settings; one is needed')
        return np.array([node.get_array('image') for node in nodes]), dict(nodes[0].base.attributes.get('settings'))
    from aiida_perovskite.fingerprint.graph import GraphSettings, crystal_graph

    if not all(isinstance(node, orm.StructureData) for node in nodes):
        raise ValueError('cgcnn learns from crystal graphs: every input must be a StructureData')
    settings = GraphSettings(**(graph_settings or {}))
    return [crystal_graph(node.get_pymatgen_structure(), settings) for node in nodes], settings.as_dict()


def _shape(family: str, inputs, options: dict) -> dict:
    if family == 'hirshfeld_cnn':
        return {'in_channels': int(inputs.shape[1]), 'bins': int(inputs.shape[2])}
    return {'node_length': int(inputs[0].nodes.shape[1]), 'edge_length': int(inputs[0].edges.shape[2]),
            'atom_length': int(options.get('atom_length', 64))}


@calcfunction
def train_network(settings: orm.Dict, labels: orm.Dict, source: TrainedModelData | None = None,
                  **inputs) -> TrainedModelData:
    """A regression network trained on labelled structures, stored with its domain and cross-validated error.

    :param settings: ``family`` (``hirshfeld_cnn`` or ``cgcnn``), ``target`` and ``units`` (names recorded on the
        model), ``epochs`` (60), ``batch_size`` (16), ``learning_rate`` (1e-3), ``seed`` (0), ``cv_folds`` (3: the
        K-fold error that becomes the model's ``rmse``, its stated uncertainty; 0 or 1: none, NaN),
        ``atom_length`` (CGCNN, 64), ``graph`` (``GraphSettings`` fields, CGCNN).
    :param labels: ``values`` ``{name: target}`` and ``elements`` ``{name: 'C H I N Pb'}`` per structure.
    :param source: a stored ``hirshfeld_cnn`` whose feature layers are reused, frozen (transfer learning); its
        fingerprints must have the same settings.
    :param inputs: ``input_<name>`` (fingerprint or structure) and ``features_<name>`` per structure.
    """
    import numpy as np
    import pandas as pd

    from aiida_perovskite.ml.domain import training_domain
    from aiida_perovskite.ml.networks import NetworkModel

    options = settings.get_dict()
    family = options.get('family', 'hirshfeld_cnn')
    values = labels.get('values', {})
    names = sorted(key.removeprefix(INPUT) for key in inputs if key.startswith(INPUT))
    missing = [name for name in names if name not in values or f'{FEATURES}{name}' not in inputs]
    if missing or len(names) < 4:
        raise ValueError(f'every structure needs an input, features and a label, and at least 4 structures are '
                         f'needed: {len(names)} given, incomplete: {missing[:5]}')
    data, input_settings = _network_inputs(family, [inputs[f'{INPUT}{name}'] for name in names], options.get('graph'))
    y = np.array([float(values[name]) for name in names])
    recipe = {key: options[key] for key in ('epochs', 'batch_size', 'learning_rate', 'seed') if key in options}

    pretrained = source.network() if source is not None else None  # read and checked once, transferred per fit
    if pretrained is not None:
        if pretrained.hyper['architecture'] != family or family != 'hirshfeld_cnn':
            raise ValueError(f'transfer needs a hirshfeld_cnn source for a hirshfeld_cnn, not '
                             f'{pretrained.hyper["architecture"]} for {family}')
        if pretrained.hyper.get('input_settings') != input_settings:
            raise ValueError('the source network was trained on fingerprints with other settings')

    def fresh():
        if pretrained is not None:
            return pretrained.transfer(**recipe)
        return NetworkModel(family, _shape(family, data, options), input_settings=input_settings, **recipe)

    def take(rows):
        return data[rows] if family == 'hirshfeld_cnn' else [data[k] for k in rows]

    # The stated uncertainty: the K-fold test RMSE of the same recipe (never the training error).
    folds = int(options.get('cv_folds', 3))
    rmse, fold_rmse = float('nan'), []
    if folds >= 2:
        order = np.random.default_rng(int(options.get('seed', 0))).permutation(len(y))
        for test in np.array_split(order, folds):
            train = np.setdiff1d(order, test)
            predicted = fresh().fit(take(train), y[train]).predict(take(test))
            fold_rmse.append(float(np.sqrt(np.mean((predicted - y[test]) ** 2))))
        rmse = float(np.sqrt(np.mean(np.square(fold_rmse))))
    model = fresh().fit(data, y)
    elements = labels.get('elements', {})
    frame = pd.DataFrame([{'material': name, **({'elements': elements[name]} if len(elements) == len(names) else {}),
                           **inputs[f'{FEATURES}{name}'].get_dict()} for name in names])
    feature_names = [column for column in frame.columns if ':' in column]
    domain = json_ready(training_domain(frame, feature_names))
    versions = {**own_versions(), 'torch': __import__('torch').__version__}
    stated = {'rmse': rmse} if rmse == rmse else {}  # no cross-validation: no stated uncertainty (None when read)
    return TrainedModelData.from_network(
        model, domain=domain, task=options.get('target', 'target'), units=options.get('units', ''), **stated,
        metrics={'cv_folds': folds, 'cv_rmse_per_fold': fold_rmse, 'target_std': float(np.std(y)),
                 'training_rmse': float(np.sqrt(np.mean((model.predict(data) - y) ** 2)))},
        n_materials=len(names), feature_names=feature_names, library_versions=versions,
        settings={**options, 'transfer_from': source.uuid if source is not None else None})


@calcfunction
def predict_network(model: TrainedModelData, inputs: orm.Data, features: orm.Dict, settings: orm.Dict) -> orm.Dict:
    """A network model's prediction for one structure (its fingerprint or structure, as the model learned from).

    :param settings: ``elements`` of the cell, for the applicability domain.
    """
    network = model.network()
    family = network.hyper['architecture']
    data, made_with = _network_inputs(family, [inputs], network.hyper.get('input_settings'))
    if family == 'hirshfeld_cnn' and made_with != network.hyper.get('input_settings'):
        raise ValueError('the fingerprint was made with other settings than the model learned from')
    if network.is_classifier:
        raise ValueError(f'model {model.family} is a classifier: it gives no value to rank')
    prediction = float(network.predict(data)[0])
    domain = model.applicability(features.get_dict(), settings.get('elements'))
    return orm.Dict({'task': model.task, 'family': model.family, 'prediction': prediction,
                     'uncertainty': model.base.attributes.get('rmse', None),
                     'units': model.base.attributes.get('units'), 'domain': json_ready(domain),
                     'in_domain': None if domain is None else bool(domain['in_domain'])})
