"""``decompose_cif``: the structure split recorded in the provenance graph."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ExitCode, calcfunction

from aiida_perovskite.common.exit_codes import STRUCTURE_EXIT_CODES
from aiida_perovskite.structure import StructureError, decompose, read_cif_text
from aiida_perovskite.structure.disorder import DISORDER_POLICIES
from aiida_perovskite.structure.hydrogens import HYDROGEN_POLICIES

#: Parameters accepted by ``decompose_cif`` (all optional) and their types.
PARAMETERS = {'tolerance': float, 'framework_tolerance': float, 'min_distance_factor': float, 'disorder': str,
              'hydrogens': str}


@calcfunction
def decompose_cif(cif: orm.CifData, parameters: orm.Dict | None = None):
    """Validate the CIF and split it into inorganic slabs and whole organic molecules.

    :param cif: the CIF as stored (its file name is used in error messages).
    :param parameters: optional ``tolerance``, ``framework_tolerance``, ``min_distance_factor``
        (see :func:`aiida_perovskite.structure.decompose`) and ``disorder`` (``refuse``, the default, or
        ``major``: keep the major component of a disordered CIF, see
        :func:`aiida_perovskite.structure.disorder.resolve_disorder`) and ``hydrogens`` (``require``, the default,
        or ``add``: missing hydrogens at riding positions, see
        :func:`aiida_perovskite.structure.hydrogens.add_missing_hydrogens`).
    :returns: ``structure``, the cell with every molecule whole (``StructureData``), and
        ``decomposition``, the record of spacers, charges, copies, layers and fragment counts (``Dict``;
        with ``disorder`` and ``hydrogens``, what was kept, dropped and added, when the reader changed the CIF).
        A bad structure finishes with the 2xx exit code of its problem and a message naming the file.
    """
    settings = parameters.get_dict() if parameters is not None else {}
    unknown = sorted(set(settings) - set(PARAMETERS))
    if unknown:
        status, _ = STRUCTURE_EXIT_CODES['invalid_parameters']
        return ExitCode(status, f'unknown parameter(s) {unknown}; accepted: {sorted(PARAMETERS)}')

    reading = {'disorder': settings.pop('disorder', 'refuse'), 'hydrogens': settings.pop('hydrogens', 'require')}
    for key, accepted in (('disorder', DISORDER_POLICIES), ('hydrogens', HYDROGEN_POLICIES)):
        if reading[key] not in accepted:
            status, _ = STRUCTURE_EXIT_CODES['invalid_parameters']
            return ExitCode(status, f'unknown {key} policy {reading[key]!r}; accepted: {", ".join(accepted)}')
    name = cif.filename
    try:
        with cif.open(mode='r') as handle:
            structure = read_cif_text(handle.read(), name=name, **reading)
        decomposition = decompose(structure, name=name, **{key: float(value) for key, value in settings.items()})
    except StructureError as error:
        status, _ = STRUCTURE_EXIT_CODES.get(error.code, STRUCTURE_EXIT_CODES['structure_error'])
        return ExitCode(status, f'{type(error).__name__}: {error}')

    return {
        'structure': orm.StructureData(pymatgen=decomposition.unwrapped),
        'decomposition': orm.Dict(decomposition.as_dict()),
    }
