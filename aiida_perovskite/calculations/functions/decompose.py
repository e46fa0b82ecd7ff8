"""``decompose_cif``: the structure split recorded in the provenance graph."""

from __future__ import annotations

from aiida import orm
from aiida.engine import ExitCode, calcfunction

from aiida_perovskite.common.exit_codes import STRUCTURE_EXIT_CODES
from aiida_perovskite.structure import StructureError, decompose, read_cif_text
from aiida_perovskite.structure.disorder import DISORDER_POLICIES, summary

#: Parameters accepted by ``decompose_cif`` (all optional) and their types.
PARAMETERS = {'tolerance': float, 'framework_tolerance': float, 'min_distance_factor': float, 'disorder': str}


@calcfunction
def decompose_cif(cif: orm.CifData, parameters: orm.Dict | None = None):
    """Validate the CIF and split it into inorganic slabs and whole organic molecules.

    :param cif: the CIF as stored (its file name is used in error messages).
    :param parameters: optional ``tolerance``, ``framework_tolerance``, ``min_distance_factor``
        (see :func:`aiida_perovskite.structure.decompose`) and ``disorder`` (``refuse``, the default, or
        ``major``: keep the major component of a disordered CIF, see
        :func:`aiida_perovskite.structure.disorder.resolve_disorder`).
    :returns: ``structure``, the cell with every molecule whole (``StructureData``), and
        ``decomposition``, the record of spacers, charges, copies, layers and fragment counts (``Dict``;
        with ``disorder``, what was kept and dropped, when the CIF was disordered).
        A bad structure finishes with the 2xx exit code of its problem and a message naming the file.
    """
    settings = parameters.get_dict() if parameters is not None else {}
    unknown = sorted(set(settings) - set(PARAMETERS))
    if unknown:
        status, _ = STRUCTURE_EXIT_CODES['invalid_parameters']
        return ExitCode(status, f'unknown parameter(s) {unknown}; accepted: {sorted(PARAMETERS)}')

    policy = settings.pop('disorder', 'refuse')
    if policy not in DISORDER_POLICIES:
        status, _ = STRUCTURE_EXIT_CODES['invalid_parameters']
        return ExitCode(status, f'unknown disorder policy {policy!r}; accepted: {", ".join(DISORDER_POLICIES)}')
    name = cif.filename
    try:
        with cif.open(mode='r') as handle:
            structure = read_cif_text(handle.read(), name=name, disorder=policy)
        decomposition = decompose(structure, name=name, **{key: float(value) for key, value in settings.items()})
    except StructureError as error:
        status, _ = STRUCTURE_EXIT_CODES.get(error.code, STRUCTURE_EXIT_CODES['structure_error'])
        return ExitCode(status, f'{type(error).__name__}: {error}')

    record = decomposition.as_dict()
    if structure.properties.get('disorder'):
        record['disorder'] = structure.properties['disorder']
        record['notes'] = [summary(record['disorder']), *record['notes']]
    return {
        'structure': orm.StructureData(pymatgen=decomposition.unwrapped),
        'decomposition': orm.Dict(record),
    }
