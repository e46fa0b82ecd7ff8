"""A predicted structure against a reference one: per-metal lattice figures, StructureMatcher, powder XRD.

Plain Python. The lattice figures are :func:`aiida_perovskite.analysis.validation.cell_figures` of each
cell with its own stacking axis and slab count (from the decomposition of each structure), so cells of
different choice and size compare per metal. The match is :mod:`.ranking`'s StructureMatcher on the
hydrogen-free cells. The XRD similarity is the cosine similarity of the two Cu K-alpha powder patterns
(hydrogens left out: X-ray references rarely locate them), each broadened by a Gaussian of ``width``
degrees on a 0.02 degree grid.
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Structure

from aiida_perovskite.analysis.validation import cell_figures

from .ranking import heavy_atoms, matcher, rms_distance

__all__ = ('compare_structures', 'layer_figures', 'plot_landscape', 'xrd_similarity')


def layer_figures(structure: Structure) -> dict:
    """Per-metal volume, in-plane area and layer spacing, from the decomposition's stacking axis and slabs."""
    from aiida_perovskite.analysis.features import stacking_index
    from aiida_perovskite.structure import decompose

    record = decompose(structure).as_dict()
    lattice = np.array(structure.lattice.matrix)
    stacking = stacking_index(record['miller_index'], lattice)
    metals = sum(1 for site in structure if site.specie.symbol in record['oxidation_states'])
    return cell_figures(lattice, stacking, metals, record['n_slabs'], record['n_layers'])


def xrd_similarity(first: Structure, second: Structure, width: float = 0.2, two_theta=(5.0, 50.0)) -> float:
    """Cosine similarity (0 to 1) of the broadened powder patterns of the hydrogen-free cells."""
    from pymatgen.analysis.diffraction.xrd import XRDCalculator

    calculator = XRDCalculator()
    grid = np.arange(two_theta[0], two_theta[1], 0.02)
    curves = []
    for structure in (first, second):
        pattern = calculator.get_pattern(heavy_atoms(structure), two_theta_range=two_theta)
        curve = np.zeros_like(grid)
        for position, intensity in zip(pattern.x, pattern.y):
            curve += intensity * np.exp(-0.5 * ((grid - position) / width) ** 2)
        curves.append(curve)
    norm = np.linalg.norm(curves[0]) * np.linalg.norm(curves[1])
    return float(curves[0] @ curves[1] / norm) if norm else 0.0


def compare_structures(predicted: Structure, reference: Structure) -> dict:
    """Rows of per-metal figures (reference, predicted, deviation %), the match verdict and RMS, XRD similarity."""
    ours, theirs = layer_figures(predicted), layer_figures(reference)
    rows = []
    for key, label, unit in (('volume_per_metal', 'volume per B', 'A^3'),
                             ('in_plane_area_per_metal', 'in-plane area per B', 'A^2'),
                             ('layer_spacing', 'layer spacing', 'A')):
        rows.append({'quantity': label, 'unit': unit, 'reference': theirs[key], 'predicted': ours[key],
                     'deviation': 100.0 * (ours[key] - theirs[key]) / theirs[key]})
    match = matcher().fit(heavy_atoms(predicted), heavy_atoms(reference))
    return {
        'rows': rows,
        'match': bool(match),
        'rms': rms_distance(predicted, reference) if match else None,
        'xrd_similarity': xrd_similarity(predicted, reference),
    }


def plot_landscape(energies: dict, path, title: str = '') -> None:
    """Energy per formula unit of each candidate (relative to the lowest of each stage): classical, MLIP relaxed,
    and (when given) the MLIP's at the classical geometry that chose which were relaxed."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4))
    keys = sorted(energies.get('classical', {}))
    names = {'classical': 'classical minimum', 'preselection': 'MLIP at the classical minimum', 'mlip': 'MLIP relaxed'}
    for stage, marker in (('classical', 'o'), ('preselection', '^'), ('mlip', 's')):
        values = energies.get(stage, {})
        if not values:
            continue
        lowest = min(values.values())
        shown = [k for k in keys if k in values]
        axis.scatter([keys.index(k) for k in shown], [(values[k] - lowest) * 1000 for k in shown], marker=marker,
                     label=f'{names[stage]} (relative to its lowest)')
    axis.set_xticks(range(len(keys)), keys, rotation=90, fontsize=7)
    axis.set_xlabel('candidate')
    axis.set_ylabel('energy per formula unit (meV)')
    axis.set_title(title)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
