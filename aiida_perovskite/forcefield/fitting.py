"""Fit the ion-ion terms of a new metal/halide pair to the experimental lattices of 3D analogues.

Where the literature has no usable rigid-ion parameters for a B/X pair (Sn(II) iodide and bromide,
lead chloride), they are derived here from a set that is already validated, by *transfer*:

* the reference data are the cubic lattice constants of the 3D methylammonium perovskites MABX3,
  measured by one author with one method (Weber 1978: MAPbCl3 5.68, MAPbBr3 5.92, MAPbI3 6.27,
  MASnBr3 5.89, MASnI3 6.24 Angstrom), so that their *ratios* carry little systematic error;
* the model is the rigid-ion crystal of the force field itself: cubic Pm-3m ABX3 with B at the
  origin, X on the face centres of the B cube and the disordered A-site cation as a point charge
  of +1 at the cage centre (its organic short-range terms average out in the cubic phase and are
  left out, the same in reference and target), energy = Ewald Coulomb + Buckingham sums;
* the unknown is the prefactor ``A`` of the new B-X Buckingham term, its ``rho`` taken from the
  reference pair (a change of ``A`` moves the repulsive wall by ``rho ln(A'/A)`` without changing
  its stiffness), chosen so that the model's lattice-constant ratio target/reference equals the
  experimental one. A new halide's X-X term is the reference X-X term continued along the halide
  series (:func:`continue_halide_series`), because one lattice constant cannot fix two terms.

The same calculation also *checks* the transfer: from the validated iodide set and the published
bromide set it predicts MAPbBr3/MAPbI3, which can be compared with experiment (see
``benchmarks/fit_parameter_sets.py``). Everything here is plain Python (numpy, scipy, pymatgen's
Ewald sum); :func:`aiida_perovskite.calculations.functions.fitting.fit_ion_pair` stores a fit
with its reference data as nodes.
"""

from __future__ import annotations

import dataclasses
import math
from functools import cache

import numpy as np

__all__ = (
    'COULOMB_KCAL',
    'LATTICE_REFERENCES',
    'FitResult',
    'continue_halide_series',
    'cubic_lattice_energy',
    'equilibrium_lattice',
    'fit_pair_prefactor',
)

#: e^2 / (4 pi eps0) in kcal/mol Angstrom (LAMMPS ``real`` units).
COULOMB_KCAL = 332.06371
#: Short-range cut-off of the lattice sums (the product's pair cut-off).
CUTOFF = 12.0

WEBER_PB = (
    'D. Weber, "CH3NH3PbX3, ein Pb(II)-System mit kubischer Perowskitstruktur", '
    'Z. Naturforsch. B 33 (1978)'
)
WEBER_SN = (
    'D. Weber, "CH3NH3SnBrxI3-x (x = 0-3), ein Sn(II)-System mit kubischer Perowskitstruktur", '
    'Z. Naturforsch. B 33 (1978)'
)
#: Cubic lattice constants (Angstrom) of the 3D analogues MABX3 at room temperature, by (B, X).
LATTICE_REFERENCES: dict[tuple[str, str], tuple[float, str]] = {
    ('Pb', 'Cl'): (5.68, WEBER_PB),
    ('Pb', 'Br'): (5.92, WEBER_PB),
    ('Pb', 'I'): (6.27, WEBER_PB),
    ('Sn', 'Br'): (5.89, WEBER_SN),
    ('Sn', 'I'): (6.24, WEBER_SN),
}


@cache
def _madelung(q_b: float, q_x: float) -> float:
    """Coulomb energy per formula unit of the cubic ABX3 point-charge crystal at a = 1 A, in e^2/A."""
    from pymatgen.analysis.ewald import EwaldSummation
    from pymatgen.core import Lattice, Structure

    q_a = -(q_b + 3 * q_x)
    size = 10.0  # evaluated at 10 A and scaled: the Ewald sum is exact in 1/a
    structure = Structure(
        Lattice.cubic(size),
        ['Cs', 'Pb', 'I', 'I', 'I'],
        [[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]],
        site_properties={'charge': [q_a, q_b, q_x, q_x, q_x]},
    )
    energy_ev = EwaldSummation(structure, compute_forces=False).total_energy
    return energy_ev / 14.399645 * size  # eV -> e^2/A, then to a = 1 A


def _pair_distances(a: float, kind: str) -> np.ndarray:
    """Distances (A) from one B (kind 'BX', 'BB') or one X (kind 'XX') to its partners within the cut-off."""
    n = int(math.ceil(CUTOFF / a)) + 1
    grid = np.arange(-n, n + 1)
    cells = np.array(np.meshgrid(grid, grid, grid, indexing='ij')).reshape(3, -1).T.astype(float)
    x_sites = np.array([[0.5, 0, 0], [0, 0.5, 0], [0, 0, 0.5]])
    if kind == 'BB':
        vectors = cells
    elif kind == 'BX':
        vectors = (cells[:, None, :] + x_sites[None]).reshape(-1, 3)
    elif kind == 'XX':  # from the X at (1/2,0,0) to every X
        vectors = (cells[:, None, :] + x_sites[None] - x_sites[0]).reshape(-1, 3)
    else:
        raise ValueError(kind)
    r = np.linalg.norm(vectors, axis=1) * a
    return r[(r > 1e-8) & (r <= CUTOFF)]


def _buckingham(r: np.ndarray, coefficients) -> float:
    A, rho, C = coefficients
    return float(np.sum(A * np.exp(-r / rho) - C / r**6))


def cubic_lattice_energy(a: float, metal: str, halide: str, parameter_set) -> float:
    """Energy (kcal/mol per ABX3) of the rigid-ion cubic crystal at lattice constant ``a``."""
    q_b = parameter_set.ions[metal]['charge']
    q_x = parameter_set.ions[halide]['charge']
    energy = COULOMB_KCAL * _madelung(q_b, q_x) / a
    # Each pair once per formula unit: B-X from the one B (6 neighbours and beyond), X-X summed
    # over the three X and halved, B-B from the one B halved.
    energy += _buckingham(_pair_distances(a, 'BX'), parameter_set.buckingham_pair(metal, halide))
    energy += 3 * 0.5 * _buckingham(_pair_distances(a, 'XX'), parameter_set.buckingham_pair(halide, halide))
    energy += 0.5 * _buckingham(_pair_distances(a, 'BB'), parameter_set.buckingham_pair(metal, metal))
    return energy


def equilibrium_lattice(metal: str, halide: str, parameter_set, guess: float = 6.0) -> float:
    """The lattice constant (A) minimising :func:`cubic_lattice_energy`."""
    from scipy.optimize import minimize_scalar

    result = minimize_scalar(
        cubic_lattice_energy, bounds=(0.75 * guess, 1.3 * guess), method='bounded',
        args=(metal, halide, parameter_set), options={'xatol': 1e-6},
    )
    if not 0.76 * guess < result.x < 1.29 * guess:
        raise ValueError(f'no minimum of the {metal}{halide}3 lattice energy near {guess} A')
    return float(result.x)


def continue_halide_series(parameter_set, light: str, heavy: str, new: str,
                           partner: str | None = None) -> tuple[float, float, float]:
    """The ``new``-``new`` Buckingham term continued from the ``heavy``-``heavy`` to the ``light``-``light``
    term of the same family by the same ratios (A, rho and C each), e.g. I -> Br continued to Cl; with
    ``partner``, the ``new``-``partner`` term continued the same way from the halides' terms with that
    partner (e.g. the halide-N wall of the hydrogen bond: MYP I-N -> Hata Br-N continued to Cl-N).

    ``parameter_set`` must hold both the ``light`` and ``heavy`` terms (a dict of pairs works too).
    """
    pairs = parameter_set if isinstance(parameter_set, dict) else parameter_set.buckingham

    def term(halide):
        other = partner or halide
        return pairs.get((halide, other)) or pairs[(other, halide)]

    heavy_term, light_term = term(heavy), term(light)
    return tuple(float(lt * lt / ht) if ht else 0.0 for lt, ht in zip(light_term, heavy_term))


@dataclasses.dataclass(frozen=True)
class FitResult:
    """One fitted B-X prefactor and the figures that justify it."""

    metal: str
    halide: str
    prefactor: float
    rho: float
    target_ratio: float
    model_ratio: float
    reference_lattice: float
    model_lattice: float

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def fit_pair_prefactor(reference_set, reference: tuple[str, str], target: tuple[str, str], target_ratio: float,
                       build_set) -> FitResult:
    """Fit the Buckingham prefactor of ``target`` (B, X) so that the model's lattice ratio target/reference
    equals ``target_ratio`` (the experimental one).

    :param reference_set: the validated set holding the ``reference`` (B, X) pair.
    :param build_set: ``build_set(prefactor)`` returns the candidate set with the target pair's
        prefactor set to ``prefactor`` (and everything else the target needs).
    """
    from scipy.optimize import brentq

    a_reference = equilibrium_lattice(*reference, reference_set)
    goal = target_ratio * a_reference
    rho = build_set(1.0).buckingham_pair(*target)[1]

    def mismatch(log_prefactor: float) -> float:
        return equilibrium_lattice(*target, build_set(math.exp(log_prefactor)), guess=goal) - goal

    start = math.log(reference_set.buckingham_pair(*reference)[0])
    low, high = start - 1.0, start + 1.0  # the wall moves by +-rho: +-0.3 A, far more than any B-X change
    log_prefactor = brentq(mismatch, low, high, xtol=1e-10)
    prefactor = math.exp(log_prefactor)
    model = equilibrium_lattice(*target, build_set(prefactor), guess=goal)
    return FitResult(
        metal=target[0], halide=target[1], prefactor=prefactor, rho=rho, target_ratio=target_ratio,
        model_ratio=model / a_reference, reference_lattice=a_reference, model_lattice=model,
    )


#: Atomic masses of the ions a derived set may introduce.
MASSES = {'Pb': 207.2, 'Sn': 118.71, 'I': 126.90447, 'Br': 79.904, 'Cl': 35.453}
#: UFF Lennard-Jones values (well depth D kcal/mol, minimum distance x A) of the halides, as in
#: OpenBabel's UFF.prm (Rappe et al. 1992), for the halide-organic cross terms.
UFF_HALIDES = {'I': {'D': 0.339, 'x': 4.500}, 'Br': {'D': 0.251, 'x': 4.189}, 'Cl': {'D': 0.227, 'x': 3.947}}


def derive_parameter_set(reference, metal: str, halide: str, *, series=None, name: str | None = None,
                         version: int = 1, lattices: dict | None = None) -> tuple[dict, FitResult]:
    """A parameter-set document (the YAML content) for ``metal``/``halide`` derived from ``reference``.

    ``reference`` is a validated set with one metal and one halide (e.g. ``myp-pbi-uffi`` for tin
    iodide, ``myp-pbbr-uffbr`` for tin bromide and lead chloride). The new metal takes the
    reference metal's metal-metal and metal-organic terms (the B-B repulsion is negligible at the
    6 A B-B distance; the metal-organic terms are the reference's, since the ammonium heads sit at
    the halides); a new halide's self term is continued along the halide series from ``series``
    (a set holding the next-heavier halide's self term, e.g. ``myp-pbi`` when going Br -> Cl) and
    its organic cross terms are UFF values mixed by Lorentz-Berthelot. The B-X prefactor is then
    fitted by :func:`fit_pair_prefactor` to the experimental lattice ratio of the 3D analogues.

    :param lattices: ``{(B, X): (a, source)}`` of the 3D analogues (default :data:`LATTICE_REFERENCES`).
    """
    from .parameter_sets import ParameterSet

    (ref_metal,) = [e for e in reference.ions if reference.ions[e]['charge'] > 0]
    (ref_halide,) = [e for e in reference.ions if reference.ions[e]['charge'] < 0]
    rename = {ref_metal: metal, ref_halide: halide}
    buckingham = {}
    for (a, b), values in reference.buckingham.items():
        buckingham[(rename.get(a, a), rename.get(b, b))] = tuple(values)
    if halide != ref_halide:
        if series is None:
            raise ValueError(f'a new halide ({halide}) needs the next-heavier halide set to continue the X-X term')
        (heavy,) = [e for e in series.ions if series.ions[e]['charge'] < 0]
        pairs = {**series.buckingham, **reference.buckingham}
        buckingham[(halide, halide)] = continue_halide_series(pairs, ref_halide, heavy, halide)
    # organic cross terms of the halide: UFF mixed (tabulated halide-organic terms dropped), except the
    # hydrogen-bond donor's wall (halide-N) where the reference lists one: kept for the same halide,
    # continued along the halide series for a new one
    wall = reference.buckingham_pair(ref_halide, 'N') if reference.cross_terms == 'lorentz-berthelot' else None
    buckingham = {pair: v for pair, v in buckingham.items() if not (halide in pair and set(pair) - set(rename.values()))}
    if wall is not None:
        if halide == ref_halide:
            buckingham[(halide, 'N')] = tuple(wall)
        else:
            (heavy,) = [e for e in series.ions if series.ions[e]['charge'] < 0]
            if series.buckingham_pair(heavy, 'N') is None:
                raise ValueError(f'{series.name} has no {heavy}-N term to continue the {ref_halide}-N wall from')
            pairs = {**series.buckingham, **reference.buckingham}
            buckingham[(halide, 'N')] = continue_halide_series(pairs, ref_halide, heavy, halide, partner='N')
    lennard_jones = {(rename.get(a, a), h): v for (a, h), v in reference.lennard_jones.items() if a == ref_metal}

    def document(prefactor: float) -> dict:
        pairs = dict(buckingham)
        pairs[(metal, halide)] = (prefactor, reference.buckingham_pair(ref_metal, ref_halide)[1], 0.0)
        return {
            'name': name or f'derived-{metal.lower()}{halide.lower()}',
            'version': version,
            'description': '',
            'citations': [],
            'ions': {metal: {'charge': reference.ions[ref_metal]['charge'], 'mass': MASSES[metal]},
                     halide: {'charge': reference.ions[ref_halide]['charge'], 'mass': MASSES[halide]}},
            'buckingham': [[a, b, *values] for (a, b), values in pairs.items()],
            'lennard_jones': [[a, h, *values] for (a, h), values in lennard_jones.items()],
            'cross_terms': 'lorentz-berthelot',
            'ion_lennard_jones': {halide: dict(UFF_HALIDES[halide])},
        }

    def build_set(prefactor: float):
        return ParameterSet.from_dict(document(prefactor))

    lattices = LATTICE_REFERENCES if lattices is None else lattices
    for pair in ((metal, halide), (ref_metal, ref_halide)):
        if pair not in lattices:
            raise ValueError(f'no experimental lattice of MA{"".join(pair)}3 to fit against')
    target_ratio = lattices[(metal, halide)][0] / lattices[(ref_metal, ref_halide)][0]
    result = fit_pair_prefactor(reference, (ref_metal, ref_halide), (metal, halide), target_ratio, build_set)
    content = document(float(f'{result.prefactor:.6f}'))
    content['fit'] = {
        'method': 'B-X Buckingham prefactor fitted to the 3D-analogue lattice ratio (aiida_perovskite.forcefield.fitting)',
        'reference_set': f'{reference.name} v{reference.version}',
        'reference_pair': f'{ref_metal}-{ref_halide}',
        'target_ratio': round(target_ratio, 6),
        'model_ratio': round(result.model_ratio, 6),
        'model_lattice': round(result.model_lattice, 4),
        'experimental_lattices': {f'MA{b}{x}3': lattices[(b, x)][0]
                                  for b, x in ((ref_metal, ref_halide), (metal, halide))},
        'lattice_sources': sorted({lattices[(b, x)][1] for b, x in ((ref_metal, ref_halide), (metal, halide))}),
    }
    return content, result
