"""Simulated cell against a reference cell: lattice deviations named by direction, and the octahedra check.

Plain Python (no AiiDA). The simulated cell is the mean LAMMPS box of an NPT run divided by the
replication; the reference is the CIF's own cell or one given by hand (an experimental cell of a
structure built by :mod:`aiida_perovskite.builder`, whose cell choice may differ).

Two kinds of figure:

* **per axis** (only when both cells are the same cell choice, e.g. a CIF against its own
  simulated cell): a, b, c and the angles, each named ``in-plane`` or ``stacking`` from the
  layers' Miller index;
* **per metal atom**, which every cell choice shares: volume per B, in-plane area per B
  (reported also as the edge of the usual sqrt(2) x sqrt(2) cell, ``sqrt(2 x area)``) and the
  layer spacing (the cell's perpendicular height per inorganic layer).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ('Cell', 'ammonium_contacts', 'cell_figures', 'compare_cells', 'compare_lattice_with_reference',
           'compare_with_reference', 'metal_and_halide_elements', 'octahedra_check', 'octahedron_cutoffs',
           'reference_figures', 'reference_from_parameters', 'simulated_lattice', 'summary_line')

#: What counts as an intact octahedron: its six nearest halides within this many times the cell's own
#: metal-halide bond (the median, per halide element, of every metal's six nearest halides in the input
#: cell), judged on the quenched final configuration (the thermal vibrations minimised away). Published
#: cells set the scale: the longest Sn-I bond of (S-MBA)2SnI4 (CSD, hybrid3 1654) is 1.18 times its
#: median, a lone-pair distortion that is still an octahedron, while the halides of the torn bromide
#: runs sit 1.45 times or more away. One ratio serves every halide, where a fixed distance would be
#: lenient for chlorides and strict for iodides.
OCTAHEDRON_STRETCH = 1.25
#: The criterion before the ratio (a fixed distance, Angstrom, on the last MD frame), kept for comparison.
OCTAHEDRON_CUTOFF = 3.8


def simulated_lattice(summary: dict, replication) -> np.ndarray:
    """The mean cell (rows a, b, c) of a temperature summary's box means, divided by the replication."""
    na, nb, nc = (int(n) for n in replication)
    return np.array([
        [summary['lx_mean'], 0.0, 0.0],
        [summary['xy_mean'], summary['ly_mean'], 0.0],
        [summary['xz_mean'], summary['yz_mean'], summary['lz_mean']],
    ]) / np.array([[na], [nb], [nc]])


def reference_from_parameters(a, b, c, alpha, beta, gamma) -> np.ndarray:
    """Lattice vectors (rows) of cell parameters, a along x and b in the xy plane (LAMMPS' frame)."""
    cos_a, cos_b, cos_g = (math.cos(math.radians(angle)) for angle in (alpha, beta, gamma))
    sin_g = math.sin(math.radians(gamma))
    cx = c * cos_b
    cy = c * (cos_a - cos_b * cos_g) / sin_g
    cz = math.sqrt(max(c * c - cx * cx - cy * cy, 0.0))
    return np.array([[a, 0.0, 0.0], [b * cos_g, b * sin_g, 0.0], [cx, cy, cz]])


def cell_figures(lattice, stacking: int, metals: float, slabs: int, n_layers: int = 1) -> dict:
    """Cell parameters and the per-metal figures of a cell whose lattice vector ``stacking`` crosses the layers.

    :param metals: B atoms in the cell; :param slabs: inorganic slabs in the cell, each ``n_layers``
        octahedra thick.
    """
    lattice = np.asarray(lattice, dtype=float)
    lengths = np.linalg.norm(lattice, axis=1)

    def angle(i, j):
        return math.degrees(math.acos(np.clip(lattice[i] @ lattice[j] / lengths[i] / lengths[j], -1, 1)))

    in_plane = [axis for axis in range(3) if axis != stacking]
    volume = abs(float(np.linalg.det(lattice)))
    area = float(np.linalg.norm(np.cross(lattice[in_plane[0]], lattice[in_plane[1]])))
    area_per_metal = area * slabs * n_layers / metals  # B atoms in one plane of octahedra
    return {
        'a': float(lengths[0]), 'b': float(lengths[1]), 'c': float(lengths[2]),
        'alpha': angle(1, 2), 'beta': angle(0, 2), 'gamma': angle(0, 1),
        'volume': volume,
        'volume_per_metal': volume / metals,
        'in_plane_area_per_metal': area_per_metal,
        'in_plane_edge': math.sqrt(2 * area_per_metal),
        'layer_spacing': volume / area / slabs,
    }


_AXES = ('a', 'b', 'c')
_ANGLES = {'alpha': (1, 2), 'beta': (0, 2), 'gamma': (0, 1)}


def compare_cells(simulated: dict, reference: dict, stacking: int, same_cell: bool) -> list[dict]:
    """Rows ``{quantity, direction, unit, reference, simulated, deviation}`` of two :func:`cell_figures`.

    Lengths, areas and volumes deviate in percent, angles in degrees. ``direction`` is
    ``in-plane``, ``stacking`` or ``cell``.
    """
    rows = []

    def row(quantity, direction, unit, key, relative=True):
        ref, sim = reference[key], simulated[key]
        deviation = 100.0 * (sim - ref) / ref if relative else sim - ref
        rows.append({'quantity': quantity, 'direction': direction, 'unit': unit, 'reference': ref,
                     'simulated': sim, 'deviation': deviation, 'deviation_unit': '%' if relative else 'deg'})

    if same_cell:
        for axis, name in enumerate(_AXES):
            row(name, 'stacking' if axis == stacking else 'in-plane', 'A', name)
        for name, (i, j) in _ANGLES.items():
            row(name, 'stacking' if stacking in (i, j) else 'in-plane', 'deg', name, relative=False)
    row('in-plane edge sqrt(2 x area per B)', 'in-plane', 'A', 'in_plane_edge')
    row('in-plane area per B', 'in-plane', 'A^2', 'in_plane_area_per_metal')
    row('layer spacing', 'stacking', 'A', 'layer_spacing')
    row('volume per B', 'cell', 'A^3', 'volume_per_metal')
    return rows


def summary_line(rows: list[dict]) -> dict:
    """The headline deviations: volume, in-plane (area per B) and stacking (layer spacing), in percent."""
    by_quantity = {row['quantity']: row['deviation'] for row in rows}
    return {
        'volume': by_quantity['volume per B'],
        'in_plane': by_quantity['in-plane area per B'],
        'in_plane_edge': by_quantity['in-plane edge sqrt(2 x area per B)'],
        'stacking': by_quantity['layer spacing'],
    }


def _nearest_halides(structure, metals: set, halides: set, reach: float) -> list[list]:
    """Each metal's halide neighbours within ``reach``, nearest first."""
    return [sorted((n for n in structure.get_neighbors(site, reach) if n.specie.symbol in halides),
                   key=lambda n: n.nn_distance)
            for site in structure if site.specie.symbol in metals]


def _structure(symbols, positions, lattice):
    from pymatgen.core import Lattice, Structure

    return Structure(Lattice(lattice), list(symbols), np.asarray(positions), coords_are_cartesian=True)


def octahedron_cutoffs(symbols, positions, lattice, metals, halides, stretch: float = OCTAHEDRON_STRETCH) -> dict:
    """``{halide: cutoff}`` (Angstrom): ``stretch`` times the cell's median bond from a metal to that halide
    (over every metal's six nearest halides); a halide no metal is bonded to gets none."""
    structure = _structure(symbols, positions, lattice)
    bonds: dict[str, list[float]] = {}
    for neighbours in _nearest_halides(structure, set(metals), set(halides), 6.0):
        for neighbour in neighbours[:6]:
            bonds.setdefault(neighbour.specie.symbol, []).append(neighbour.nn_distance)
    return {halide: round(stretch * float(np.median(values)), 3) for halide, values in sorted(bonds.items())}


def octahedra_check(symbols, positions, lattice, metals, halides, cutoff: float | dict | None = None) -> dict:
    """How many B atoms still have six halides within the cutoff (periodic images included), and no seventh.

    :param cutoff: Angstrom, one for every halide or ``{halide: cutoff}`` (:func:`octahedron_cutoffs` of the
        input cell, so that a run is judged by its starting bonds); None: :func:`octahedron_cutoffs` of this cell.
    :returns: ``{'intact': k, 'metals': n, 'share': k / n, 'cutoff': {halide: cutoff}, 'longest': the longest of
        each metal's six nearest halide distances (None: fewer than six within 6 A)}``.
    """
    if cutoff is None:
        cutoff = octahedron_cutoffs(symbols, positions, lattice, metals, halides)
    cutoffs = dict(cutoff) if isinstance(cutoff, dict) else {halide: float(cutoff) for halide in halides}
    structure = _structure(symbols, positions, lattice)
    reach = max(cutoffs.values(), default=0.0)
    intact, longest = 0, []
    centres = _nearest_halides(structure, set(metals), set(halides), max(reach, 6.0))
    for neighbours in centres:
        bonded = [n for n in neighbours if n.nn_distance <= cutoffs.get(n.specie.symbol, 0.0)]
        intact += len(bonded) == 6
        longest.append(round(float(neighbours[5].nn_distance), 3) if len(neighbours) >= 6 else None)
    return {'intact': intact, 'metals': len(centres), 'share': intact / len(centres) if centres else float('nan'),
            'cutoff': cutoffs, 'longest': longest}


def ammonium_contacts(symbols, positions, lattice, halides) -> dict | None:
    """The hydrogen-bond contacts of the spacers' ammonium heads: the shortest N...X distance of each N that
    carries a hydrogen (within 1.2 A), and their mean (Angstrom); None without such an N or halide.

    The N-H...X contact sets how deep the heads sit in the halide pockets; a force field whose contacts
    come out short pulls the apical halides off the metal.
    """
    structure = _structure(symbols, positions, lattice)
    halides = set(halides)
    shortest = []
    for site in structure:
        if site.specie.symbol != 'N':
            continue
        neighbours = structure.get_neighbors(site, 5.0)
        if not any(n.specie.symbol == 'H' and n.nn_distance < 1.2 for n in neighbours):
            continue
        distances = [n.nn_distance for n in neighbours if n.specie.symbol in halides]
        if distances:
            shortest.append(min(distances))
    if not shortest:
        return None
    return {'mean_shortest': round(float(np.mean(shortest)), 3), 'n_heads': len(shortest)}


@dataclasses.dataclass
class Cell:
    """A periodic cell as plain arrays: element symbols, Cartesian positions (Angstrom) and lattice vectors (rows)."""

    symbols: list[str]
    positions: np.ndarray
    lattice: np.ndarray


def metal_and_halide_elements(record: dict, symbols) -> tuple[list[str], list[str]]:
    """The B-site metals (the decomposition record's oxidation states) and the halides of its inorganic part.

    :param symbols: the element of each site of the decomposed cell, in the record's site order.
    """
    metals = sorted(record['oxidation_states'])
    inorganic = {symbols[index] for index in record['inorganic_indices']}
    return metals, sorted(inorganic - set(metals))


def reference_figures(record: dict, lattice, stacking: int, metals: int, cell: dict | None = None) -> tuple[dict, str]:
    """The reference cell's :func:`cell_figures` and where the reference comes from.

    Without ``cell`` (None or empty) the reference is the decomposed CIF's own cell; with one, it is
    that cell (a, b, c, alpha, beta, gamma, ``metals``, ``slabs``, optionally ``n_layers`` (1),
    ``stacking`` axis index (2) and ``source``), e.g. the experimental cell of a built structure,
    whose cell choice may differ from the simulated one.

    :param lattice: the decomposed cell's lattice vectors (rows); :param stacking: its stacking axis;
        :param metals: B atoms in it.
    """
    if cell:
        matrix = reference_from_parameters(*(cell[key] for key in ('a', 'b', 'c', 'alpha', 'beta', 'gamma')))
        figures = cell_figures(matrix, int(cell.get('stacking', 2)), cell['metals'], cell['slabs'], cell.get('n_layers', 1))
        return figures, cell.get('source', 'given cell')
    figures = cell_figures(lattice, stacking, metals, record['n_slabs'], record['n_layers'])
    return figures, f'the CIF\'s own cell ({record["file"]})'


def compare_with_reference(record: dict, structure: Cell, final: Cell, summary: dict, replication,
                           cell: dict | None = None) -> dict:
    """A simulated cell against its reference: the deviations named by direction, and the octahedra check.

    :param record: the decomposition record of ``structure`` (``miller_index``, ``oxidation_states``,
        ``inorganic_indices``, ``n_slabs``, ``n_layers``, ``file``).
    :param structure: the decomposed input cell; :param final: the last configuration of the run.
    :param summary: the NPT run's summary at the reference temperature (box means);
        :param replication: the supercell's replication.
    :param cell: a reference cell given by hand (see :func:`reference_figures`); None: the input cell.
    :returns: ``reference_source``, ``stacking_axis`` (a, b or c), ``rows`` (:func:`compare_cells`;
        per axis only when both cells are the same cell choice), ``deviations`` (:func:`summary_line`),
        ``octahedra`` (:func:`octahedra_check` of ``final``, with ``reference_share`` of ``structure``),
        ``contacts`` (:func:`ammonium_contacts` of ``final``, with ``input_mean_shortest`` of ``structure``;
        None without ammonium heads), ``simulated`` and ``reference`` (the :func:`cell_figures` of each).
    """
    return compare_lattice_with_reference(record, structure, final, simulated_lattice(summary, replication), cell)


def compare_lattice_with_reference(record: dict, structure: Cell, final: Cell, lattice, cell: dict | None = None) -> dict:
    """:func:`compare_with_reference` for a simulated cell given as lattice vectors (rows), e.g. a 0 K relaxed
    cell (same cell choice as ``structure``) rather than an NPT run's mean box."""
    from aiida_perovskite.analysis.features import stacking_index

    simulated_vectors = np.asarray(lattice, dtype=float)
    lattice = np.asarray(structure.lattice, dtype=float)
    metal_elements, halides = metal_and_halide_elements(record, structure.symbols)
    stacking = stacking_index(record['miller_index'], lattice)
    metals = sum(symbol in metal_elements for symbol in structure.symbols)
    simulated = cell_figures(simulated_vectors, stacking, metals, record['n_slabs'], record['n_layers'])
    expected, source = reference_figures(record, lattice, stacking, metals, cell)
    rows = compare_cells(simulated, expected, stacking, same_cell=not cell)
    cutoffs = octahedron_cutoffs(structure.symbols, structure.positions, lattice, metal_elements, halides)
    octahedra = octahedra_check(final.symbols, final.positions, final.lattice, metal_elements, halides, cutoffs)
    octahedra['reference_share'] = octahedra_check(structure.symbols, structure.positions, lattice, metal_elements,
                                                   halides, cutoffs)['share']  # the input cell by the same criterion
    contacts = ammonium_contacts(final.symbols, final.positions, final.lattice, halides)
    if contacts is not None:  # beside the input cell's: a CIF's own are the measured ones
        contacts['input_mean_shortest'] = (ammonium_contacts(structure.symbols, structure.positions, lattice, halides)
                                           or {}).get('mean_shortest')
    return {
        'reference_source': source,
        'stacking_axis': 'abc'[stacking],
        'rows': rows,
        'deviations': summary_line(rows),
        'octahedra': octahedra,
        'contacts': contacts,
        'simulated': simulated,
        'reference': expected,
    }
