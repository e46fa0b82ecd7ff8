"""Exit codes shared by the calculations and work chains of this plugin.

Bands follow the AiiDA convention used across plugins: 3xx unrecoverable
problems with the input files, 4xx-5xx recoverable physics or walltime
problems, 7xx warnings.
"""

from __future__ import annotations

#: One exit status per kind of bad input structure, keyed by ``StructureError.code``.
STRUCTURE_EXIT_CODES: dict[str, tuple[int, str]] = {
    'invalid_parameters': (300, 'ERROR_INVALID_PARAMETERS'),
    'unreadable_cif': (310, 'ERROR_UNREADABLE_CIF'),
    'disorder': (311, 'ERROR_DISORDERED_STRUCTURE'),
    'missing_hydrogen': (312, 'ERROR_MISSING_HYDROGEN'),
    'atoms_too_close': (313, 'ERROR_ATOMS_TOO_CLOSE'),
    'unsupported_element': (314, 'ERROR_UNSUPPORTED_ELEMENT'),
    'charge_imbalance': (315, 'ERROR_CHARGE_IMBALANCE'),
    'not_layered': (316, 'ERROR_NOT_LAYERED'),
    'bonding': (317, 'ERROR_IMPOSSIBLE_BONDING'),
    'structure_error': (319, 'ERROR_INVALID_STRUCTURE'),
}
