"""Screening with provenance: each CIF, its decomposition, features and prediction stored as nodes.

The pipeline and the ranking are :mod:`aiida_perovskite.ml.screening`; this module supplies the
per-CIF step that runs through the calcfunctions instead of in memory.
"""

from __future__ import annotations

import pathlib

from aiida import orm

from aiida_perovskite.ml.screening import ScreeningError

__all__ = ('decompose_with_provenance', 'network_input', 'predict_cif_with_provenance')


def decompose_with_provenance(path, reading: dict | None = None) -> tuple[orm.CifData, dict, orm.Dict, list[str]]:
    """CifData -> decompose_cif -> compute_features, each a node; ``reading`` holds the decomposition's CIF-reading
    policies (``{'disorder': 'major', 'hydrogens': 'add'}`` or part of it, see :func:`~aiida_perovskite.structure.read_cif`).

    :returns: the CifData, the outputs of ``decompose_cif`` (``decomposition``, ``structure``), the features node
        and the cell's elements.
    :raises ScreeningError: the CIF cannot be read or decomposed.
    """
    from aiida_perovskite.analysis import structure_elements
    from aiida_perovskite.calculations.functions.decompose import decompose_cif
    from aiida_perovskite.calculations.functions.targets import compute_features
    from aiida_perovskite.structure import StructureError, read_cif

    try:
        # Our own reader first: it names the problem plainly, where CifData's parser would print
        # pages of PyCifRW tracebacks for a truncated file before failing.
        read_cif(path, **(reading or {}))
    except StructureError as error:
        raise ScreeningError(f'{type(error).__name__}: {error}') from None
    cif = orm.CifData(file=str(pathlib.Path(path).resolve()), filename=pathlib.Path(path).name)
    results, node = decompose_cif.run_get_node(
        cif, **({'parameters': orm.Dict(reading)} if reading else {}))
    if not node.is_finished_ok:
        raise ScreeningError(node.exit_message)
    features = compute_features(results['decomposition'])
    return cif, results, features, structure_elements(results['decomposition'].get_dict())


def network_input(family: str, structure: orm.StructureData, fingerprint_settings: dict | None = None) -> orm.Data:
    """What a network of ``family`` reads for one structure: its fingerprint node (stored once per structure and
    settings, reused after) for ``hirshfeld_cnn``, the structure itself for ``cgcnn``."""
    if family != 'hirshfeld_cnn':
        return structure
    from aiida.engine import run

    from aiida_perovskite.workflows.fingerprint import FingerprintWorkChain

    return run(FingerprintWorkChain, structure=structure, settings=orm.Dict(fingerprint_settings or {}))['fingerprint']


def predict_cif_with_provenance(path, model, temperature: float, group: orm.Group | None = None,
                                reading: dict | None = None) -> dict:
    """CifData -> decompose_cif -> compute_features -> predict_properties, each a provenance node (for a network
    model: its fingerprint or structure -> predict_network).

    :param model: a stored :class:`aiida_perovskite.data.TrainedModelData`.
    :param group: also put the prediction node in this group.
    :param reading: the decomposition's CIF-reading policies (see :func:`decompose_with_provenance`).
    :returns: the record of :func:`aiida_perovskite.ml.screening.predict_cif` with ``prediction_pk``
        and ``cif_uuid`` added.
    :raises ScreeningError: the CIF cannot be read or decomposed, or a network cannot read it.
    """
    from aiida_perovskite.calculations.functions.learning import predict_properties
    from aiida_perovskite.calculations.functions.networks import predict_network

    cif, results, features, elements = decompose_with_provenance(path, reading)
    if model.is_network:
        hyper = model.base.attributes.get('hyperparameters') or {}
        inputs = network_input(model.family, results['structure'], hyper.get('input_settings'))
        prediction = predict_network(model, inputs, features, orm.Dict({'elements': elements}))
    else:
        prediction = predict_properties(model, features, orm.Dict({'temperature': temperature, 'elements': elements}))
    if group is not None:
        group.add_nodes(prediction)
    spacers = results['decomposition'].get('spacers', [])
    uncertainty = prediction['uncertainty']
    return {'file': str(path), 'smiles': '.'.join(s['smiles'] for s in spacers),
            'prediction': prediction['prediction'], 'uncertainty': float('nan') if uncertainty is None else uncertainty,
            'domain': prediction.get('domain'), 'in_domain': prediction.get('in_domain'),
            'prediction_pk': prediction.pk, 'cif_uuid': cif.uuid}
