"""``build_perovskite``: a hypothetical layered perovskite from a spacer SMILES, recorded in the provenance graph."""

from __future__ import annotations

import io

from aiida import orm
from aiida.engine import ExitCode, calcfunction

from aiida_perovskite.builder import BuildError
from aiida_perovskite.builder import build_perovskite as build_structure
from aiida_perovskite.common.exit_codes import EXIT_CODES
from aiida_perovskite.structure import StructureError, decompose, format_cif

#: Exit status of a spacer or settings the builder refuses (2xx: bad input).
ERROR_INVALID_SPACER = EXIT_CODES['ERROR_INVALID_SPACER'].status
#: Exit status of a built cell that fails the project's own validation (3xx: a builder bug; never seen).
ERROR_BUILT_STRUCTURE_INVALID = EXIT_CODES['ERROR_BUILT_STRUCTURE_INVALID'].status


def cif_name(abbreviation: str, settings: dict) -> str:
    """File name of a built cell, e.g. ``ba_pbi_rp_n1.cif``."""
    label = ''.join(c if c.isalnum() else '-' for c in abbreviation).strip('-').lower() or 'spacer'
    return (f'{label}_{settings["metal"]}{settings["halide"]}_{settings["phase"]}_n{settings["n"]}.cif').lower()


@calcfunction
def build_perovskite(smiles: orm.Str, settings: orm.Dict | None = None):
    """Build a layered perovskite cell for the spacer ``smiles`` (see :mod:`aiida_perovskite.builder.builder`).

    :param smiles: the spacer as given (neutral amine or cation).
    :param settings: any of ``phase`` (RP|DJ), ``n``, ``metal``, ``halide``, ``a_cation``, ``head_distance``,
        ``contact_factor``, ``rotations``, ``max_cross_section_factor``, plus an optional ``label`` used
        for the file name; the rest take their defaults.
    :returns: ``cif`` (``CifData``), ``structure`` (``StructureData``) and ``record`` (``Dict``: the
        settings used with their defaults, the cation's canonical SMILES and charge, and what was
        measured while building). A refused spacer finishes with exit status 220 (``ERROR_INVALID_SPACER``) and the builder's message.
    """
    options = settings.get_dict() if settings is not None else {}
    label = str(options.pop('label', 'spacer'))
    try:
        result = build_structure(smiles.value, **options)
    except BuildError as error:
        return ExitCode(ERROR_INVALID_SPACER, f'BuildError: {error}')
    try:
        decomposition = decompose(result.structure, name='built structure')
    except StructureError as error:
        return ExitCode(ERROR_BUILT_STRUCTURE_INVALID, f'{type(error).__name__}: {error}')
    spacer = decomposition.spacers[0]
    filename = cif_name(label, result.settings)
    cif = orm.CifData(file=io.BytesIO(format_cif(result.structure).encode()), filename=filename)
    record = {
        'input_smiles': smiles.value,
        'smiles': result.spacer.smiles,
        'charge': result.spacer.charge,
        # Every spacer: a cell built for a spacer whose SMILES fixes no handedness holds both enantiomers.
        'decomposed_smiles': '.'.join(s.smiles for s in decomposition.spacers),
        'decomposed_charge': spacer.charge,
        'settings': result.settings,
        'measured': result.record,
        'formula': decomposition.formula,
    }
    return {'cif': cif, 'structure': orm.StructureData(pymatgen=result.structure), 'record': orm.Dict(record)}
