"""Reading, validating and decomposing crystal structures of layered hybrid perovskites.

Plain Python on top of pymatgen and OpenBabel: nothing here imports AiiDA.
"""

from .cif import format_cif, read_cif, read_cif_text
from .decompose import Decomposition, Molecule, Slab, UniqueMolecule, decompose, inspect_cif
from .disorder import resolve_disorder
from .errors import (
    AtomsTooCloseError,
    BondingError,
    ChargeImbalanceError,
    DisorderError,
    MissingHydrogenError,
    NotLayeredError,
    StructureError,
    UnreadableCifError,
    UnsupportedElementError,
)
from .fragments import fragment_counts
from .hydrogens import add_missing_hydrogens
from .smiles import canonical_smiles, canonicalise

__all__ = (
    'add_missing_hydrogens',
    'AtomsTooCloseError',
    'BondingError',
    'ChargeImbalanceError',
    'Decomposition',
    'DisorderError',
    'MissingHydrogenError',
    'Molecule',
    'NotLayeredError',
    'Slab',
    'StructureError',
    'UniqueMolecule',
    'UnreadableCifError',
    'UnsupportedElementError',
    'canonical_smiles',
    'canonicalise',
    'decompose',
    'format_cif',
    'fragment_counts',
    'inspect_cif',
    'read_cif',
    'read_cif_text',
    'resolve_disorder',
)
