"""Applicability domain: is a new structure like those a model was trained on?

A model's prediction for a structure unlike its training materials is an extrapolation, whatever its
stated uncertainty. The domain of a model is recorded from its training table
(:func:`training_domain`) and every screened structure is compared with it (:func:`assess`):

- elements of the cell that no training material contains (the table's ``elements`` column);
- fragments (``jdd*`` counts) present in the structure but absent from every training material, including
  those the model has no column for, which it would otherwise ignore: a spacer with sulfur is not scored as
  if the sulfur were absent without a word;
- features outside the range spanned by the training materials;
- the distance to the nearest training material, in features standardised by the training materials, compared
  with the largest nearest-neighbour distance among the training materials themselves.

Any of these makes the structure *out of domain*: the prediction is still made, and flagged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .tasks import GROUP_COLUMN, ZERO_FILLED_FAMILY_PREFIX, family_of, is_feature

__all__ = ('assess', 'describe', 'training_domain')

#: Relative tolerance of the range check and of a feature's spread: a CIF stores coordinates to about
#: 1e-6 relative, so a training cell written and read back must stay inside its own range.
_RELATIVE = 1e-5


def training_domain(frame: pd.DataFrame, feature_names: list[str]) -> dict:
    """The domain of a model trained on ``frame`` (rows of the materials it learned from).

    :param feature_names: the model's static features (temperature and derived columns are skipped).
    :returns: a JSON-ready dict: ``elements`` (None when the table has no ``elements`` column),
        ``fragments``, ``ranges`` ``{feature: [min, max]}``, ``features``, ``centre``, ``scale``,
        ``reference`` (the standardised features of each training structure), ``threshold``.
    """
    group = GROUP_COLUMN if GROUP_COLUMN in frame else 'material'
    per_structure = frame.groupby(group, sort=True).first()
    features = [name for name in feature_names if is_feature(name) and name in per_structure]
    values = per_structure[features].to_numpy(dtype=float)
    centre = values.mean(axis=0)
    scale = values.std(axis=0)
    # A feature constant over the training set (up to rounding) has no spread to measure by: unit scale.
    scale = np.where(scale > _RELATIVE * np.maximum(1.0, np.abs(centre)), scale, 1.0)
    reference = (values - centre) / scale
    elements = None
    if 'elements' in per_structure:
        elements = sorted({element for text in per_structure['elements'].dropna() for element in str(text).split()})
    fragments = sorted(name for name in per_structure.columns
                       if is_feature(name) and family_of(name).startswith(ZERO_FILLED_FAMILY_PREFIX)
                       and (per_structure[name].fillna(0) > 0).any())
    return {
        'elements': elements,
        'fragments': fragments,
        'features': features,
        'ranges': {name: [float(values[:, k].min()), float(values[:, k].max())] for k, name in enumerate(features)},
        'centre': centre.tolist(),
        'scale': scale.tolist(),
        'reference': reference.tolist(),
        'threshold': _largest_nearest_neighbour(reference),
    }


def assess(features: dict[str, float], elements, domain: dict) -> dict:
    """Where one structure (its features and the elements of its cell) stands against a model's ``domain``.

    :returns: ``in_domain``, ``unseen_elements``, ``unseen_fragments``, ``out_of_range`` ``{feature:
        value}``, ``distance`` (to the nearest training structure), ``threshold``.
    """
    known = domain.get('elements')
    unseen_elements = sorted(set(elements or ()) - set(known)) if known is not None else []
    seen_fragments = set(domain.get('fragments', []))
    unseen_fragments = sorted(name for name, value in features.items()
                              if family_of(name).startswith(ZERO_FILLED_FAMILY_PREFIX) and value
                              and name not in seen_fragments)
    names = domain['features']
    vector = np.array([_value(features, name) for name in names], dtype=float)
    out_of_range = {}
    known_values = np.isfinite(vector)
    for name, value in zip(names, vector):
        if not np.isfinite(value):
            out_of_range[name] = None  # the structure has no value for it: nothing to compare
            continue
        low, high = domain['ranges'][name]
        margin = _RELATIVE * max(1.0, abs(low), abs(high))
        if value < low - margin or value > high + margin:
            out_of_range[name] = float(value)
    reference = np.asarray(domain['reference'], dtype=float)
    standard = (vector - np.asarray(domain['centre'])) / np.asarray(domain['scale'])
    differences = (reference - standard)[:, known_values]
    distance = float(np.sqrt((differences**2).sum(axis=1)).min()) if len(reference) else float('inf')
    threshold = float(domain['threshold'])
    return {
        'in_domain': not (unseen_elements or unseen_fragments or out_of_range) and distance <= threshold,
        'unseen_elements': unseen_elements,
        'unseen_fragments': unseen_fragments,
        'out_of_range': out_of_range,
        'distance': distance,
        'threshold': threshold,
    }


def describe(assessment: dict | None) -> str:
    """One short line: ``in`` or ``OUT: element S; fragments jdd0:S, ...; 3 features out of range; ...``."""
    if assessment is None:
        return 'unknown'
    if assessment['in_domain']:
        return 'in'
    parts = []
    if assessment['unseen_elements']:
        parts.append('unseen element ' + ', '.join(assessment['unseen_elements']))
    if assessment['unseen_fragments']:
        shown = ', '.join(assessment['unseen_fragments'][:3])
        more = len(assessment['unseen_fragments']) - 3
        parts.append(f'unseen fragment {shown}' + (f' (+{more})' if more > 0 else ''))
    if assessment['out_of_range']:
        parts.append(f'{len(assessment["out_of_range"])} feature(s) out of range')
    if assessment['distance'] > assessment['threshold']:
        parts.append(f'distance {assessment["distance"]:.2f} > {assessment["threshold"]:.2f}')
    return 'OUT: ' + '; '.join(parts)


def _value(features: dict, name: str) -> float:
    if name in features:
        return float(features[name])
    if family_of(name).startswith(ZERO_FILLED_FAMILY_PREFIX):
        return 0.0  # a fragment the structure lacks: none of it
    return float('nan')


def _largest_nearest_neighbour(reference: np.ndarray) -> float:
    """The largest distance from a training structure to its nearest other one (the spread of the data)."""
    if len(reference) < 2:
        return float('inf')
    squared = ((reference[:, None, :] - reference[None, :, :]) ** 2).sum(axis=2)
    np.fill_diagonal(squared, np.inf)
    return float(np.sqrt(squared.min(axis=1)).max())
