"""Element data used to decompose hybrid perovskites: radii, roles and charges."""

from __future__ import annotations

#: Single-bond covalent radii in Angstrom: B. Cordero et al., Dalton Trans. 2832 (2008).
#: Only the elements the decomposition supports are listed.
COVALENT_RADII: dict[str, float] = {
    'H': 0.31, 'B': 0.84, 'C': 0.76, 'N': 0.71, 'O': 0.66, 'F': 0.57,
    'Na': 1.66, 'Si': 1.11, 'P': 1.07, 'S': 1.05, 'Cl': 1.02, 'K': 2.03,
    'Mn': 1.39, 'Cu': 1.32, 'Zn': 1.22, 'Ge': 1.20, 'Se': 1.20, 'Br': 1.20,
    'Rb': 2.20, 'Ag': 1.45, 'Cd': 1.44, 'In': 1.42, 'Sn': 1.39, 'Sb': 1.39,
    'I': 1.39, 'Cs': 2.44, 'Pb': 1.46, 'Bi': 1.48,
}

#: Elements that make up organic molecules (halogens count as organic only when
#: covalently bonded to another organic atom; otherwise they are framework halides).
ORGANIC_ELEMENTS = frozenset({'H', 'B', 'C', 'N', 'O', 'F', 'Si', 'P', 'S', 'Cl', 'Se', 'Br', 'I'})

#: Halogens that can be framework anions (charge -1).
HALOGENS = frozenset({'F', 'Cl', 'Br', 'I'})

#: Octahedral (B-site) metals and the oxidation states they take in halide
#: perovskites, most common first. The first state is tried first when the
#: cell charge is balanced.
METAL_OXIDATION_STATES: dict[str, tuple[int, ...]] = {
    'Pb': (2,), 'Sn': (2,), 'Ge': (2,), 'Mn': (2,), 'Cd': (2,), 'Zn': (2,),
    'Cu': (2, 1), 'Bi': (3,), 'Sb': (3,), 'In': (3, 1), 'Ag': (1,),
}

#: Inorganic A-site cations (they sit in the framework's cavities, charge +1).
A_SITE_CATIONS: dict[str, int] = {'Na': 1, 'K': 1, 'Rb': 1, 'Cs': 1}

#: Every element the decomposition understands.
SUPPORTED_ELEMENTS = frozenset(ORGANIC_ELEMENTS | set(METAL_OXIDATION_STATES) | set(A_SITE_CATIONS))

#: Bond-order sums ("valence") an organic atom may take and the formal charge
#: each implies, preferred first. An atom whose bonds are single bonds to its
#: explicit neighbours takes the smallest valence not below its degree; extra
#: valence becomes double or triple bonds found by matching.
VALENCE_CHARGES: dict[str, tuple[tuple[int, int], ...]] = {
    'H': ((1, 0),),
    'B': ((3, 0), (4, -1)),
    'C': ((4, 0),),
    'Si': ((4, 0),),
    'N': ((3, 0), (4, 1)),
    'P': ((3, 0), (4, 1), (5, 0)),
    'O': ((2, 0), (3, 1)),
    'S': ((2, 0), (3, 1), (4, 0), (6, 0)),
    'Se': ((2, 0), (3, 1), (4, 0), (6, 0)),
    'F': ((1, 0),),
    'Cl': ((1, 0),),
    'Br': ((1, 0),),
    'I': ((1, 0),),
}
