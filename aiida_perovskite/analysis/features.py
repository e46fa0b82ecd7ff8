"""Features of a structure from its decomposition record (SPEC section 5, plus what the decomposition knows).

Every feature is named ``<family>:<name>`` so that importance can be grouped by family:

- ``lattice``: the cell as the layers see it, not raw a/b/c (whose order is arbitrary): the two
  in-plane lengths (long, short), the in-plane angle, the length of the stacking vector and its
  tilt away from the layer normal;
- ``cell``: volume, atoms, density, volume per atom (the method's size features);
- ``layers``: inter-layer distance, stacking period, metal planes per slab (``n``), slabs per
  cell, mean slab thickness;
- ``spacer``: charge, atoms, heavy atoms, copies per metal atom, unique spacers;
- ``jdd0`` .. ``jdd3``: the joint degree distributions of the unique spacers (fragment counts
  of 1 to 4 atoms, each unique molecule counted once, summed over unique spacers).

Enantiomers are one chemistry: the spacers are taken by their constitution (the SMILES without
stereo), so a racemic cell, which the decomposition reports as two spacers (R and S), has the same
spacer and fragment features as an enantiopure one; ``enantiomers='distinct'`` counts them apart.

A fragment a structure lacks is a count of 0: :func:`structure_features` returns only the
fragments present, and a table of many structures fills the rest with 0.
"""

from __future__ import annotations

import numpy as np

__all__ = ('FEATURE_FAMILIES', 'stacking_index', 'structure_elements', 'structure_features', 'structure_identity')

FEATURE_FAMILIES = ('lattice', 'cell', 'layers', 'spacer', 'jdd0', 'jdd1', 'jdd2', 'jdd3')

_AVOGADRO = 6.02214076e23


def structure_features(record: dict, enantiomers: str = 'same') -> dict[str, float]:
    """The features of one decomposed structure (``Decomposition.as_dict()``).

    :param enantiomers: ``'same'`` (default) takes the two enantiomers of a spacer as one chemistry,
        ``'distinct'`` as two spacers.
    """
    if enantiomers not in ('same', 'distinct'):
        raise ValueError(f"enantiomers must be 'same' or 'distinct', not {enantiomers!r}")
    from pymatgen.core import Composition, Lattice

    cell = record['lattice']
    lattice = Lattice.from_parameters(cell['a'], cell['b'], cell['c'], cell['alpha'], cell['beta'], cell['gamma'])
    vectors = lattice.matrix
    stacking = stacking_index(record['miller_index'], vectors)
    in_plane = [axis for axis in range(3) if axis != stacking]
    lengths = sorted((float(np.linalg.norm(vectors[axis])) for axis in in_plane), reverse=True)
    u, v = (vectors[axis] for axis in in_plane)
    normal = np.cross(u, v)
    normal /= np.linalg.norm(normal)
    w = vectors[stacking]
    tilt = np.degrees(np.arccos(min(1.0, abs(w @ normal) / np.linalg.norm(w))))
    in_plane_angle = np.degrees(np.arccos(np.clip(u @ v / np.linalg.norm(u) / np.linalg.norm(v), -1, 1)))

    n_atoms = int(record['n_sites'])
    composition = Composition(record['formula'])
    mass = composition.weight * n_atoms / composition.num_atoms  # g/mol of the whole cell
    volume = float(cell['volume'])
    metals = sum(count for element, count in composition.items()
                 if element.symbol in record['oxidation_states'] and record['oxidation_states'][element.symbol] > 0
                 and element.is_metal) * n_atoms / composition.num_atoms

    features = {
        'lattice:in_plane_long': lengths[0],
        'lattice:in_plane_short': lengths[1],
        'lattice:in_plane_angle': float(min(in_plane_angle, 180 - in_plane_angle)),
        'lattice:stacking_length': float(np.linalg.norm(w)),
        'lattice:stacking_tilt': float(tilt),
        'cell:volume': volume,
        'cell:n_atoms': float(n_atoms),
        'cell:density': float(mass / _AVOGADRO / (volume * 1e-24)),
        'cell:volume_per_atom': volume / n_atoms,
        'layers:interlayer_distance': float(record['interlayer_distance']),
        'layers:stacking_period': float(record['stacking_period']),
        'layers:n_layers': float(record['n_layers']),
        'layers:n_slabs': float(record['n_slabs']),
        'layers:slab_thickness': float(np.mean([slab['thickness'] for slab in record.get('slabs', [])] or [np.nan])),
    }
    spacers = record['spacers'] if enantiomers == 'distinct' else _by_constitution(record['spacers'])
    copies = sum(spacer['count'] for spacer in spacers)
    features.update({
        'spacer:charge': float(np.mean([spacer['charge'] for spacer in spacers])) if spacers else 0.0,
        'spacer:n_atoms': float(np.mean([spacer['n_atoms'] for spacer in spacers])) if spacers else 0.0,
        'spacer:n_heavy_atoms': float(np.mean([sum(symbol != 'H' for symbol in spacer['symbols'])
                                               for spacer in spacers])) if spacers else 0.0,
        'spacer:per_metal': copies / metals if metals else 0.0,
        'spacer:n_unique': float(len(spacers)),
    })
    fragments: dict[str, float] = {}
    for spacer in spacers:
        for fragment, count in spacer['fragments'].items():
            name = f'jdd{fragment.count("-")}:{fragment}'
            fragments[name] = fragments.get(name, 0.0) + float(count)
    features.update(sorted(fragments.items()))
    return features


def structure_identity(record: dict) -> str:
    """What makes two runs the same material, as a short hash of the decomposition record.

    The formula, the molecules (constitution, charge and copies; the two enantiomers of a spacer are one
    chemistry, and a mirror-image cell has the same physics in a force field without chirality) and
    the cell (lengths to 0.1 A and angles to 1 degree, each sorted, so a relabelling of the axes is the
    same cell). One CIF run under two protocols, charge models or parameter sets is one structure:
    cross-validation keeps all its runs on one side of every split.
    """
    import hashlib
    import json

    cell = record['lattice']
    molecules = sorted(
        (role, molecule.get('constitution') or molecule['smiles'], int(molecule['charge']), int(molecule['count']))
        for role in ('spacers', 'a_site_molecules', 'guests')
        for molecule in _by_constitution(record.get(role, []))
    )
    key = {
        'formula': record['formula'],
        'molecules': molecules,
        'lengths': sorted(round(float(cell[name]), 1) for name in ('a', 'b', 'c')),
        'angles': sorted(round(float(cell[name])) for name in ('alpha', 'beta', 'gamma')),
    }
    return hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def structure_elements(record: dict) -> list[str]:
    """The elements of the cell (from its formula), sorted: what a model trained on it has seen."""
    from pymatgen.core import Composition

    return sorted(element.symbol for element in Composition(record['formula']).elements)


def _by_constitution(spacers: list[dict]) -> list[dict]:
    """The spacers with the enantiomers of one constitution merged (their copies added)."""
    merged: dict[str, dict] = {}
    for spacer in spacers:
        key = spacer.get('constitution') or spacer['smiles']
        if key in merged:
            merged[key] = {**merged[key], 'count': merged[key]['count'] + spacer['count']}
        else:
            merged[key] = dict(spacer)
    return list(merged.values())


def stacking_index(miller, vectors: np.ndarray) -> int:
    """The lattice vector that crosses the layers: the one the Miller plane singles out, or, for a skew
    stacking, the one most nearly along the layer normal."""
    nonzero = [axis for axis, value in enumerate(miller) if value]
    if len(nonzero) == 1:
        return nonzero[0]
    reciprocal = np.linalg.inv(vectors).T
    normal = np.asarray(miller, dtype=float) @ reciprocal.T
    normal /= np.linalg.norm(normal)
    return int(np.argmax([abs(vector @ normal) / np.linalg.norm(vector) for vector in vectors]))
