"""Atomic Hirshfeld-surface fingerprints of a crystal (seed 003: Williams, Mukherjee, Dasgupta, Rajan).

Around every symmetry-unique atom of the cell, the Hirshfeld surface is the isosurface where half of the
promolecule density (the sum of spherical neutral-atom densities) comes from that atom. occpy (the engine of
CrystalExplorer) builds each surface from the atom and its periodic environment within
:attr:`FingerprintSettings.environment_radius`. On every surface point two distances are read:

- ``d_i``, to the nearest nucleus inside the surface: for an atomic surface, the atom itself (computed here,
  because occpy 0.9.5 reports no ``d_i`` for a one-atom interior);
- ``d_e``, to the nearest nucleus outside (occpy's ``de``; :func:`check_surface` recomputes it).

Binning: each triangle of a surface is sampled at the ``(s + 1)(s + 2) / 2`` points of its barycentric grid
of order ``s = subdivision`` (10 points for 3: the seed's "10 points between each vertex" in spirit), with
``d_i`` and ``d_e`` interpolated linearly, and each point carries ``area / n_points`` of its
triangle. A site's surface counts ``multiplicity`` times (its symmetry-equivalent copies). The image
is the area in each (d_i, d_e) bin divided by the total surface area of all atoms of the cell, so
``image['all'].sum() + outside['all'] == 1``, where ``outside`` is the share of the area outside the binned
range. The seed's 50 x 50 bins over 0.76-2.8 A are the default (bin width 0.0408 A: the seed rounds it to
0.04).

Pair channels split the image by the unordered pair (element class inside, element class of the nearest
atom outside): ``H-X``, ``H-H``, ``C-H``, ``X-X``, ``N-X``, ``M-X`` and ``other``, with X a halide (Cl, Br,
I), M a metal; they partition the total (they sum to channel ``all``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

__all__ = (
    'CHANNELS',
    'FingerprintSettings',
    'HirshfeldFingerprint',
    'atom_surface',
    'check_surface',
    'element_class',
    'hirshfeld_fingerprint',
    'summary_features',
)

#: Image channels: the total, then the element-pair partition of it.
CHANNELS = ('all', 'H-X', 'H-H', 'C-H', 'X-X', 'N-X', 'M-X', 'other')
HALIDES = frozenset({'Cl', 'Br', 'I'})
#: Non-metals of the spacers and guests (everything else that is not a halide counts as a metal, M).
ORGANIC = frozenset({'H', 'B', 'C', 'N', 'O', 'F', 'Si', 'P', 'S', 'Se', 'Te', 'As'})
#: Feature family of the summaries (columns ``hirshfeld:<name>``).
FAMILY = 'hirshfeld'


def element_class(symbol: str) -> str:
    """``H``, ``C``, ``N``, ``X`` (Cl, Br, I), ``M`` (metals) or ``O`` (other non-metals: O, S, F, ...)."""
    if symbol in ('H', 'C', 'N'):
        return symbol
    if symbol in HALIDES:
        return 'X'
    return 'O' if symbol in ORGANIC else 'M'


def pair_channel(inside: str, outside: str) -> str:
    """The channel of an unordered pair of element classes."""
    pair = '-'.join(sorted((inside, outside)))
    named = {'H-X': 'H-X', 'H-H': 'H-H', 'C-H': 'C-H', 'X-X': 'X-X', 'N-X': 'N-X', 'M-X': 'M-X'}
    return named.get(pair, 'other')


@dataclasses.dataclass(frozen=True)
class FingerprintSettings:
    """What decides a fingerprint (all of it goes into :meth:`key`)."""

    bins: int = 50
    d_min: float = 0.76
    d_max: float = 2.8
    #: occpy's marching-cubes grid spacing in A (0.3: about 20 s for a 116-atom cell, single thread).
    separation: float = 0.3
    #: Neighbours within this distance (A) of an atom make its environment (6: surfaces converged, see docs).
    environment_radius: float = 6.0
    #: Order of the barycentric sampling of each triangle (0: vertices only, weighted by a third of their faces).
    subdivision: int = 3
    #: Tolerance of the symmetry search for unique sites (None: every site of the cell is computed).
    symprec: float | None = 0.01

    def __post_init__(self):
        if self.bins < 1 or not self.d_max > self.d_min > 0:
            raise ValueError(f'bad fingerprint range: {self.bins} bins over {self.d_min}-{self.d_max} A')
        if not 0.05 <= self.separation <= 1.0:
            raise ValueError(f'separation {self.separation} A outside 0.05-1.0 A')
        if self.environment_radius < 3.0:
            raise ValueError(f'environment_radius {self.environment_radius} A is too short (at least 3 A)')
        if self.subdivision < 0:
            raise ValueError(f'subdivision must be >= 0, not {self.subdivision}')

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def key(self) -> str:
        """A short hash of the settings and of the occpy version (part of a fingerprint's cache key)."""
        import occpy

        text = json.dumps({**self.as_dict(), 'occpy': occpy.__version__}, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    @property
    def edges(self) -> np.ndarray:
        return np.linspace(self.d_min, self.d_max, self.bins + 1)


@dataclasses.dataclass
class AtomSurface:
    """One atom's Hirshfeld surface: vertices (n, 3), faces (m, 3), ``d_i`` and ``d_e`` per vertex, the
    index of the nearest outside atom in the environment per vertex, and the environment itself."""

    centre: np.ndarray
    vertices: np.ndarray
    faces: np.ndarray
    d_i: np.ndarray
    d_e: np.ndarray
    outside_index: np.ndarray
    environment: np.ndarray
    environment_symbols: list[str]

    @property
    def face_areas(self) -> np.ndarray:
        v = self.vertices[self.faces]
        return 0.5 * np.linalg.norm(np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]), axis=1)


@dataclasses.dataclass
class HirshfeldFingerprint:
    """The fingerprint of one cell.

    :param image: (channels, bins, bins) area fractions, axis 1 ``d_i``, axis 2 ``d_e``.
    :param outside: per channel, the area fraction outside the binned range.
    :param summaries: contact summaries (:func:`summary_features`), without the family prefix.
    """

    image: np.ndarray
    outside: np.ndarray
    summaries: dict[str, float]
    settings: dict
    n_sites: int
    n_unique: int
    total_area: float
    seconds: float
    channels: tuple[str, ...] = CHANNELS

    def channel(self, name: str) -> np.ndarray:
        return self.image[self.channels.index(name)]

    def features(self) -> dict[str, float]:
        """The summaries as ``hirshfeld:<name>`` feature columns."""
        return {f'{FAMILY}:{name}': value for name, value in self.summaries.items()}


def atom_surface(centre, number: int, environment, environment_numbers, settings: FingerprintSettings,
                 environment_symbols=None) -> AtomSurface:
    """The Hirshfeld surface of one atom (``number`` at cartesian ``centre``) among ``environment`` atoms."""
    import occpy

    centre = np.asarray(centre, dtype=float)
    environment = np.asarray(environment, dtype=float).reshape(-1, 3)
    if not len(environment):
        raise ValueError(f'atom {number} at {centre.round(3).tolist()} has no neighbour within the environment')
    molecule = occpy.Molecule(np.array([number], dtype=np.int32), np.asfortranarray(centre.reshape(3, 1)))
    outside = occpy.Molecule(np.asarray(environment_numbers, dtype=np.int32), np.asfortranarray(environment.T))
    calculator = occpy.IsosurfaceCalculator()
    calculator.set_molecule(molecule)
    calculator.set_environment(outside)
    parameters = occpy.IsosurfaceGenerationParameters()
    parameters.surface_kind = occpy.SurfaceKind.Hirshfeld
    parameters.separation = settings.separation
    calculator.set_parameters(parameters)
    if not calculator.validate():
        raise RuntimeError(f'occpy refused the Hirshfeld surface: {calculator.error_message()}')
    calculator.compute()
    surface = calculator.isosurface()
    vertices = np.asarray(surface.vertices, dtype=float).T.copy()
    faces = np.asarray(surface.faces, dtype=np.int64).T.copy()
    properties = surface.properties
    d_e = np.asarray(properties.get_float('de'), dtype=float)
    outside_index = np.asarray(properties.get_int('de_idx'), dtype=np.int64)
    if not len(vertices) or len(d_e) != len(vertices):
        raise RuntimeError(f'occpy gave an empty or inconsistent surface for atom {number} ({len(vertices)} vertices)')
    keep = _main_component(vertices, faces)
    remap = np.full(len(vertices), -1)
    remap[keep] = np.arange(len(keep))
    faces = remap[faces[np.all(np.isin(faces, keep), axis=1)]]
    vertices, d_e, outside_index = vertices[keep], d_e[keep], outside_index[keep]
    d_i = np.linalg.norm(vertices - centre, axis=1)
    return AtomSurface(centre, vertices, faces, d_i, d_e, outside_index, environment,
                       list(environment_symbols) if environment_symbols is not None else [])


def _main_component(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Vertex indices of the connected piece of the mesh with the largest area.

    occpy 0.9.5 adds tiny closed pieces (radius about 0.1 A) around the nuclei of heavy neighbours, where its
    interpolated neighbour density falls short of the centre atom's; they are not part of the atom's
    Hirshfeld surface and are dropped here.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(vertices)
    rows = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2]])
    cols = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0]])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    count, labels = connected_components(graph, directed=False)
    if count == 1:
        return np.arange(n)
    v = vertices[faces]
    areas = 0.5 * np.linalg.norm(np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0]), axis=1)
    by_label = np.bincount(labels[faces[:, 0]], weights=areas, minlength=count)
    return np.flatnonzero(labels == np.argmax(by_label))


def unique_sites(structure, symprec: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the symmetry-unique sites and their multiplicities (every site once when ``symprec`` is None
    or the symmetry search fails)."""
    n = len(structure)
    if symprec is not None:
        try:
            from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

            equivalent = SpacegroupAnalyzer(structure, symprec=symprec).get_symmetry_dataset().equivalent_atoms
            sites, counts = np.unique(np.asarray(equivalent), return_counts=True)
            return sites, counts
        except Exception:  # noqa: BLE001 - spglib failing on an odd cell: fall back to every site
            pass
    return np.arange(n), np.ones(n, dtype=int)


def environments(structure, sites, radius: float):
    """Per site of ``sites``: cartesian positions, atomic numbers and symbols of all periodic images within
    ``radius`` (the site itself excluded)."""
    centres, points, offsets, distances = structure.get_neighbor_list(radius, sites=[structure[i] for i in sites])
    frac = structure.frac_coords[points] + offsets
    cart = structure.lattice.get_cartesian_coords(frac) if len(points) else np.zeros((0, 3))
    numbers = np.array([site.specie.Z for site in structure])
    symbols = [site.specie.symbol for site in structure]
    result = []
    for k in range(len(sites)):
        mask = (centres == k) & (distances > 1e-6)
        result.append((cart[mask], numbers[points[mask]], [symbols[p] for p in points[mask]]))
    return result


def _samples(surface: AtomSurface, subdivision: int):
    """(d_i, d_e, outside atom index, weight) at the barycentric sample points of every triangle."""
    areas = surface.face_areas
    if subdivision == 0:
        weights = np.zeros(len(surface.vertices))
        for corner in range(3):
            np.add.at(weights, surface.faces[:, corner], areas / 3.0)
        return surface.d_i, surface.d_e, surface.outside_index, weights
    s = subdivision
    grid = np.array([(i, j, s - i - j) for i in range(s + 1) for j in range(s + 1 - i)], dtype=float) / s
    corner = np.argmax(grid + 1e-9 * np.arange(3)[::-1], axis=1)  # the corner a sample point is nearest to
    d_i = surface.d_i[surface.faces] @ grid.T
    d_e = surface.d_e[surface.faces] @ grid.T
    index = surface.outside_index[surface.faces][:, corner]
    weights = np.repeat(areas[:, None] / len(grid), len(grid), axis=1)
    return d_i.ravel(), d_e.ravel(), index.ravel(), weights.ravel()


def hirshfeld_fingerprint(structure, settings: FingerprintSettings | None = None) -> HirshfeldFingerprint:
    """The fingerprint of a pymatgen ``Structure`` (or a path to a CIF).

    :raises ValueError: a CIF that cannot be read, with the file and the reason.
    """
    import time

    started = time.perf_counter()
    settings = settings or FingerprintSettings()
    structure = as_structure(structure)
    sites, multiplicity = unique_sites(structure, settings.symprec)
    edges = settings.edges
    n_channels = len(CHANNELS)
    image = np.zeros((n_channels, settings.bins, settings.bins))
    total = np.zeros(n_channels)
    contacts = _ContactTally()
    for site, count, (positions, numbers, symbols) in zip(sites, multiplicity,
                                                         environments(structure, sites, settings.environment_radius)):
        atom = structure[int(site)]
        surface = atom_surface(atom.coords, atom.specie.Z, positions, numbers, settings, symbols)
        d_i, d_e, index, weights = _samples(surface, settings.subdivision)
        weights = weights * count
        inside = element_class(atom.specie.symbol)
        outside_classes = np.array([element_class(symbols[k]) for k in range(len(symbols))])[index]
        channel = np.array([CHANNELS.index(pair_channel(inside, other)) for other in outside_classes])
        contacts.add(inside, outside_classes, d_i + d_e, weights, surface.face_areas.sum() * count, count)
        for k in np.unique(channel):
            mask = channel == k
            histogram, _, _ = np.histogram2d(d_i[mask], d_e[mask], bins=[edges, edges], weights=weights[mask])
            image[k] += histogram
            total[k] += weights[mask].sum()
    area = total[1:].sum()
    image[0] = image[1:].sum(axis=0)
    total[0] = area
    image /= area
    outside = (total - image.sum(axis=(1, 2)) * area) / area
    return HirshfeldFingerprint(image=image, outside=outside, summaries=contacts.summaries(structure, area),
                                settings=settings.as_dict(), n_sites=len(structure), n_unique=len(sites),
                                total_area=float(area), seconds=time.perf_counter() - started)


class _ContactTally:
    """Accumulates the contact summaries over the surfaces of a cell."""

    def __init__(self):
        self.area = {}  # (inside class, outside class) -> area
        self.shortest = {}  # channel -> min d_i + d_e
        self.mean_sum = {}  # channel -> [area-weighted sum of d_i + d_e, area]
        self.site_area = {}  # inside class -> [area, atoms]

    def add(self, inside, outside_classes, distance_sum, weights, area, count):
        for other in np.unique(outside_classes):
            mask = outside_classes == other
            key = (inside, str(other))
            self.area[key] = self.area.get(key, 0.0) + float(weights[mask].sum())
            channel = pair_channel(inside, str(other))
            self.shortest[channel] = min(self.shortest.get(channel, np.inf), float(distance_sum[mask].min()))
            tally = self.mean_sum.setdefault(channel, [0.0, 0.0])
            tally[0] += float((distance_sum[mask] * weights[mask]).sum())
            tally[1] += float(weights[mask].sum())
        tally = self.site_area.setdefault(inside, [0.0, 0])
        tally[0] += area
        tally[1] += count

    def summaries(self, structure, total: float) -> dict[str, float]:
        out = {}
        for name in CHANNELS[1:]:
            out[f'frac_{name}'] = sum(a for (i, o), a in self.area.items() if pair_channel(i, o) == name) / total
        organic = {key: value for key, value in self.area.items() if key[0] in ('H', 'C', 'N', 'O')}
        organic_total = sum(organic.values())
        for other in ('H', 'C', 'N', 'O', 'X', 'M'):
            share = sum(a for (_, o), a in organic.items() if o == other)
            out[f'organic_to_{other}'] = share / organic_total if organic_total else 0.0
        for name in ('H-X', 'H-H', 'N-X', 'X-X', 'M-X'):
            out[f'shortest_{name}'] = self.shortest.get(name, np.nan)
            tally = self.mean_sum.get(name)
            out[f'mean_{name}'] = tally[0] / tally[1] if tally and tally[1] else np.nan
        for kind in ('H', 'X', 'M'):
            tally = self.site_area.get(kind)
            out[f'area_{kind}'] = tally[0] / tally[1] if tally else np.nan
        out['area_per_atom'] = total / len(structure)
        out['area_per_volume'] = total / structure.volume
        return {name: float(value) for name, value in out.items()}


def summary_features(fingerprint: HirshfeldFingerprint) -> dict[str, float]:
    """The contact summaries as feature columns of the learning table (family ``hirshfeld``)."""
    return fingerprint.features()


def check_surface(surface: AtomSurface, structure) -> dict[str, float]:
    """An independent check of one atom's surface: ``d_e`` recomputed from the periodic atom positions with a
    KD-tree (nearest nucleus other than the centre), ``d_i`` from the centre, both compared with the surface's.

    :returns: ``max_d_e_error``, ``max_d_i_error`` (A), ``inside_is_nearest`` (share of vertices whose
        nearest nucleus of the whole crystal is the centre atom or at the same distance; a Hirshfeld surface
        may pass the bisector where the neighbour is much lighter).
    """
    from scipy.spatial import cKDTree

    images = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)], dtype=float)
    lattice = structure.lattice.matrix
    frac = structure.frac_coords
    points = (frac[None, :, :] + images[:, None, :]).reshape(-1, 3) @ lattice
    # One layer of images suffices: a vertex lies within a few A of its centre and every cell is wider.
    distance = np.linalg.norm(points - surface.centre, axis=1)
    others = points[distance > 1e-6]
    d_e, _ = cKDTree(others).query(surface.vertices)
    d_i = np.linalg.norm(surface.vertices - surface.centre, axis=1)
    return {
        'max_d_e_error': float(np.abs(d_e - surface.d_e).max()),
        'max_d_i_error': float(np.abs(d_i - surface.d_i).max()),
        'inside_is_nearest': float(np.mean(d_i <= d_e + 1e-6)),
    }


def as_structure(structure):
    """A pymatgen ``Structure`` as it is, or read from a CIF path (one-line error naming the file)."""
    from pymatgen.core import Structure

    if isinstance(structure, Structure):
        return structure
    try:
        return Structure.from_file(str(structure))
    except Exception as error:  # noqa: BLE001 - any reader failure becomes one line naming the file
        raise ValueError(f'{structure}: cannot read the structure ({type(error).__name__}: {error})') from None
