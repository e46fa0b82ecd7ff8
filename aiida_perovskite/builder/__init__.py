"""Constructing perovskite structures (plain Python, no AiiDA).

- :mod:`.ideal`: ideal-geometry cells of straight-chain alkylammonium spacers (tests, fixtures);
- :mod:`.builder`: hypothetical cells for any spacer SMILES (``aiida-perovskite build``);
- :mod:`.library`: the bundled list of well-known spacers (``spacers.yaml``);
- :mod:`.guests`: neutral guest molecules (lattice water, solvents) put into a cell's gallery.
"""

from .builder import DEFAULTS, BuildResult, build_perovskite, cross_section
from .errors import BuildError
from .guests import add_guests
from .ideal import alkylammonium, layered_perovskite, methylammonium
from .layer import BX_BOND
from .library import find_spacer, load_spacers
from .spacer import Spacer, molecule_from_smiles, protonate, spacer_from_smiles

__all__ = (
    'BX_BOND',
    'DEFAULTS',
    'BuildError',
    'BuildResult',
    'Spacer',
    'add_guests',
    'alkylammonium',
    'build_perovskite',
    'cross_section',
    'find_spacer',
    'layered_perovskite',
    'load_spacers',
    'methylammonium',
    'molecule_from_smiles',
    'protonate',
    'spacer_from_smiles',
)
