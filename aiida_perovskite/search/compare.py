"""A predicted structure against a reference one: per-metal lattice figures, StructureMatcher, powder XRD.

Plain Python. The lattice figures are :func:`aiida_perovskite.analysis.validation.cell_figures` of each
cell with its own stacking axis and slab count (from the decomposition of each structure), so cells of
different choice and size compare per metal. The match is :mod:`.ranking`'s StructureMatcher on the
hydrogen-free cells. The XRD similarity is the cosine similarity of the two Cu K-alpha powder patterns
(hydrogens left out: X-ray references rarely locate them), each broadened by a Gaussian of ``width``
degrees on a 0.02 degree grid. :func:`spacer_arrangement` describes what those three cannot see well:
the spacers' head torsions (gauche or anti) and how their rings stand to one another (parallel, or edge to
face in a herringbone).
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Structure

from aiida_perovskite.analysis.validation import cell_figures

from .ranking import heavy_atoms, matcher, rms_distance

__all__ = ('arrangement_line', 'bridge_angles', 'compare_structures', 'layer_figures', 'plot_landscape',
           'spacer_arrangement', 'xrd_similarity')


def layer_figures(structure: Structure, decomposition=None) -> dict:
    """Per-metal volume, in-plane area and layer spacing, from the decomposition's stacking axis and slabs.

    :param decomposition: the structure's :class:`~aiida_perovskite.structure.Decomposition`, if already made.
    """
    from aiida_perovskite.analysis.features import stacking_index
    from aiida_perovskite.structure import decompose

    record = (decomposition or decompose(structure)).as_dict()
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


def _dihedral(p0, p1, p2, p3) -> float:
    b0, b1, b2 = p0 - p1, p2 - p1, p3 - p2
    b1 = b1 / np.linalg.norm(b1)
    v, w = b0 - (b0 @ b1) * b1, b2 - (b2 @ b1) * b1
    return float(np.degrees(np.arctan2(np.cross(b1, v) @ w, v @ w)))


def _backbone(graph, head: int, length: int = 4) -> list[int]:
    """Heavy atoms from ``head`` along the backbone, up to ``length``: at a branch, the neighbour whose side of the
    molecule (without the current atom) is larger, then the lower index."""
    import networkx as nx

    path = [head]
    while len(path) < length:
        atom = path[-1]
        options = [n for n in graph.neighbors(atom) if n not in path]
        if not options:
            break
        rest = graph.subgraph([x for x in graph if x != atom])
        path.append(max(options, key=lambda n: (len(nx.node_connected_component(rest, n)), -n)))
    return path


def spacer_arrangement(structure: Structure, decomposition=None) -> dict:
    """Head torsions and ring-plane angles of the spacers (from the decomposition's whole molecules).

    A head torsion is the dihedral N-C-C-C from each ammonium N along the heavy-atom backbone (at a branch,
    the larger side); ``gauche`` counts those under 120 degrees in magnitude. The ring-plane angles are the
    largest angles (0-90 degrees) between the planes of two spacers' first five- or six-membered rings:
    ``ring_angle_sheet`` within one organic sheet (the spacers whose first head sits on the same side of the
    same slab), ``ring_angle_gap`` between the two sheets that face each other across an organic gap. Near 0:
    parallel rings; 40-90: edge to face (a herringbone). (PEA)2PbI4's crystal has its rings parallel within a
    sheet and about 55 degrees apart across the gap. None where there are not two rings to compare.
    """
    import networkx as nx

    from aiida_perovskite.structure import decompose

    record = decomposition or decompose(structure)
    normal, period = record.stacking_normal, record.stacking_period
    torsions, sheets = [], {}
    for molecule in (m for m in record.molecules if m.role == 'spacer'):
        symbols = molecule.symbols
        graph = nx.Graph()
        graph.add_nodes_from(i for i, symbol in enumerate(symbols) if symbol != 'H')
        graph.add_edges_from((i, j) for i, j in molecule.edges if i in graph and j in graph)
        protons = [0] * len(symbols)
        for i, j in molecule.edges:
            if 'H' in (symbols[i], symbols[j]):
                protons[i] += 1
                protons[j] += 1
        heads = [i for i in graph if symbols[i] == 'N' and protons[i] >= 3]
        for head in heads:
            path = _backbone(graph, head)
            if len(path) == 4:
                torsions.append(_dihedral(*molecule.cartesian[path]))
        rings = [ring for ring in nx.cycle_basis(graph) if len(ring) in (5, 6)]
        if rings and heads:
            points = molecule.cartesian[sorted(rings[0])]
            height = float(molecule.cartesian[heads[0]] @ normal)
            offsets = [(height - slab.centre + period / 2) % period - period / 2 for slab in record.slabs]
            nearest = int(np.argmin(np.abs(offsets)))
            sheets.setdefault((nearest, bool(offsets[nearest] > 0)), []).append(
                np.linalg.svd(points - points.mean(axis=0))[2][2])

    def largest(pairs):
        angles = [float(np.degrees(np.arccos(min(1.0, abs(first @ second))))) for first, second in pairs]
        return round(max(angles), 1) if angles else None

    order = sorted(range(len(record.slabs)), key=lambda k: record.slabs[k].centre % period)
    facing = [((order[k], True), (order[(k + 1) % len(order)], False)) for k in range(len(order))]
    return {
        'head_torsions': [round(t, 1) for t in torsions],
        'gauche': sum(1 for t in torsions if abs(t) < 120.0),
        'heads': len(torsions),
        'ring_angle_sheet': largest([(first, second) for normals in sheets.values()
                                     for k, first in enumerate(normals) for second in normals[k + 1:]]),
        'ring_angle_gap': largest([(first, second) for top, bottom in facing
                                   for first in sheets.get(top, []) for second in sheets.get(bottom, [])]),
    }


def bridge_angles(structure: Structure, decomposition=None) -> dict | None:
    """The metal-halide-metal angles of the layer's bridges (degrees): ``min``, ``max``, ``mean`` and ``count``.

    A bridge is a halide bonded to two metals, bonded meaning within the octahedra check's cut-off
    (:func:`aiida_perovskite.analysis.validation.octahedron_cutoffs`: 1.25 times the cell's median bond). A
    flat layer has every bridge at 180 degrees; tilts and rotations bend them, alike in an ordered pattern and
    unevenly in a distorted one. None without a bridge.
    """
    from aiida_perovskite.analysis.validation import octahedron_cutoffs
    from aiida_perovskite.structure import decompose

    record = decomposition or decompose(structure)
    metals = set(record.oxidation_states)
    halides = {structure[i].specie.symbol for i in record.inorganic_indices} - metals
    symbols = [site.specie.symbol for site in structure]
    cutoffs = octahedron_cutoffs(symbols, structure.cart_coords, structure.lattice.matrix, metals, halides)
    angles = []
    for index in record.inorganic_indices:
        site = structure[index]
        if site.specie.symbol not in cutoffs:
            continue
        bonded = [n for n in structure.get_neighbors(site, cutoffs[site.specie.symbol]) if n.specie.symbol in metals]
        if len(bonded) == 2:
            first, second = (n.coords - site.coords for n in bonded)
            cosine = first @ second / np.linalg.norm(first) / np.linalg.norm(second)
            angles.append(float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))))
    if not angles:
        return None
    return {'min': round(min(angles), 1), 'max': round(max(angles), 1), 'mean': round(float(np.mean(angles)), 1),
            'count': len(angles)}


def arrangement_line(arrangement: dict, bridges: dict | None = None) -> str:
    """One line of a :func:`spacer_arrangement` (gauche heads, the two ring-plane angles) and, when given, the range
    of a :func:`bridge_angles`."""

    def angle(value):
        return 'n/a' if value is None else f'{value:.0f} deg'

    line = (f'{arrangement["gauche"]}/{arrangement["heads"]} heads gauche, rings {angle(arrangement["ring_angle_sheet"])} '
            f'apart within a sheet, {angle(arrangement["ring_angle_gap"])} across the gap')
    if bridges is not None:
        line += f', bridges M-X-M {bridges["min"]:.0f}-{bridges["max"]:.0f} deg'
    return line


def compare_structures(predicted: Structure, reference: Structure) -> dict:
    """Rows of per-metal figures (reference, predicted, deviation %), the match verdict and RMS, XRD similarity,
    and the spacer arrangement of both (:func:`spacer_arrangement`)."""
    from aiida_perovskite.structure import decompose

    decompositions = decompose(predicted), decompose(reference)
    ours, theirs = (layer_figures(s, d) for s, d in zip((predicted, reference), decompositions))
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
        'arrangement': {'predicted': spacer_arrangement(predicted, decompositions[0]),
                        'reference': spacer_arrangement(reference, decompositions[1])},
        'bridges': {'predicted': bridge_angles(predicted, decompositions[0]),
                    'reference': bridge_angles(reference, decompositions[1])},
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
