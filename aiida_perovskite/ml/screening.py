"""Screening: rank new CIFs by a trained model's prediction, without simulating them.

Plain Python (no AiiDA). Each CIF is decomposed and described by its static features (those the
models were trained on, :func:`aiida_perovskite.analysis.structure_features`), the model predicts
its target, and the CIFs are ranked by the prediction. A CIF that cannot be decomposed is a
failure with its reason; the others are still ranked.

A *model* here is anything with ``predict(frame) -> (mean, spread)`` over a table of feature
columns, as :class:`aiida_perovskite.data.TrainedModelData`; the AiiDA wrapper that records each
step as a node (:func:`aiida_perovskite.tools.screening.predict_cif_with_provenance`) plugs into
:func:`screen_cifs` as ``predict_one``.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable, Iterable

__all__ = ('Screening', 'ScreeningError', 'predict_cif', 'rank_predictions', 'screen_cifs')


class ScreeningError(Exception):
    """A CIF that could not be screened; the message says why (the error class and its message)."""


@dataclasses.dataclass
class Screening:
    """The ranked predictions and the CIFs that failed.

    :param rows: one record per screened CIF, best first: ``rank``, ``file``, ``smiles`` (the
        spacers joined by ``.``), ``prediction``, ``uncertainty``, ``domain`` (where the CIF stands against
        the model's training domain, :func:`aiida_perovskite.ml.domain.assess`; None when the model
        records none), ``in_domain`` and whatever ``predict_one`` added.
    :param failures: ``{'file': ..., 'error': ...}`` per CIF that could not be screened, in input order.
    """

    rows: list[dict]
    failures: list[dict]


def predict_cif(path, model, temperature: float, reading: dict | None = None) -> dict:
    """Decompose one CIF and predict its target in memory.

    :param temperature: the ``thermo:temperature`` feature (used by models of per-temperature targets).
    :param reading: how the CIF is read, ``{'disorder': 'major', 'hydrogens': 'add'}`` or part of it
        (:func:`~aiida_perovskite.structure.read_cif`).
    :returns: ``{'file', 'smiles', 'prediction', 'uncertainty', 'domain', 'in_domain'}``; ``domain``
        comes from ``model.applicability(features, elements)`` when the model has it.
    :raises ScreeningError: the CIF cannot be read or decomposed.
    """
    import pandas as pd

    from aiida_perovskite.analysis import structure_elements, structure_features
    from aiida_perovskite.structure import StructureError, inspect_cif

    try:
        decomposition = inspect_cif(path, **(reading or {}))
    except StructureError as error:
        raise ScreeningError(f'{type(error).__name__}: {error}') from None
    record = decomposition.as_dict()
    features = structure_features(record)
    features['thermo:temperature'] = temperature
    if getattr(model, 'is_network', False):  # a network reads the structure itself (fingerprint or graph)
        if (model.base.attributes.get('hyperparameters') or {}).get('classes'):
            raise ScreeningError(f'model {model.family} is a classifier: its classes cannot be ranked')
        # the structure read (a disordered CIF's major component, hydrogens added), not the file read again
        mean, spread = model.predict_structures([decomposition.structure])
    else:
        mean, spread = model.predict(pd.DataFrame([features]))
    applicability = getattr(model, 'applicability', None)
    domain = applicability(features, structure_elements(record)) if applicability else None
    return {'file': str(path), 'smiles': '.'.join(s['smiles'] for s in record['spacers']),
            'prediction': float(mean[0]), 'uncertainty': float(spread[0]),
            'domain': domain, 'in_domain': None if domain is None else bool(domain['in_domain'])}


def rank_predictions(rows: list[dict], ascending: bool = False) -> list[dict]:
    """The rows sorted by ``prediction`` (largest first unless ``ascending``), each given its ``rank`` from 1.

    The sort is stable: equal predictions keep their input order.
    """
    ranked = sorted(rows, key=lambda row: row['prediction'], reverse=not ascending)
    for rank, row in enumerate(ranked, start=1):
        row['rank'] = rank
    return ranked


def screen_cifs(paths: Iterable[pathlib.Path | str], model, temperature: float = 300.0, ascending: bool = False,
                predict_one: Callable[..., dict] | None = None) -> Screening:
    """Predict every CIF of ``paths`` with ``model`` and rank them.

    :param predict_one: ``predict_one(path, model, temperature) -> record`` raising
        :class:`ScreeningError` for a CIF it cannot screen; :func:`predict_cif` by default.
    """
    predict_one = predict_one or predict_cif
    rows, failures = [], []
    for path in paths:
        try:
            rows.append(predict_one(path, model, temperature))
        except ScreeningError as error:
            failures.append({'file': str(path), 'error': str(error)})
    return Screening(rank_predictions(rows, ascending), failures)
