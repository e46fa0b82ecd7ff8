"""Crystal structure search for a spacer (plain Python, no AiiDA): random candidates, deduplication, ranking.

- :mod:`.generate`: random candidate cells from a spacer SMILES, a metal, a halide and a phase;
- :mod:`.ranking`: StructureMatcher deduplication (hydrogens stripped) and ranking by energy per formula unit.

``StructureSearchWorkChain`` (``perovskite.search``) relaxes them, first with the classical force
field in LAMMPS, then the lowest with a machine-learned potential.
"""

from .generate import DEFAULTS, Candidate, SearchError, generate_candidates, is_chiral, spacer_conformers
from .ranking import Ranked, deduplicate, formula_units, heavy_atoms, rank, rms_distance

__all__ = (
    'DEFAULTS',
    'Candidate',
    'Ranked',
    'SearchError',
    'deduplicate',
    'formula_units',
    'generate_candidates',
    'heavy_atoms',
    'is_chiral',
    'rank',
    'rms_distance',
    'spacer_conformers',
)
