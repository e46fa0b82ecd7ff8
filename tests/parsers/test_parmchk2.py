"""``perovskite.parmchk2`` parser on stored real parmchk2 outputs (fixtures/README.md says how each was made)."""

import pytest

from aiida_perovskite.calculations.parmchk2 import Parmchk2Calculation
from aiida_perovskite.parsers.parmchk2 import Parmchk2Parser

SECTIONS = ('MASS', 'BOND', 'ANGLE', 'DIHE', 'IMPROPER', 'NONBON')

#: case: (exit code name or None for success, words the exit message must hold)
CASES = {
    'butylammonium': (None, None),
    'thiophene_estimated': (None, None),
    'untyped_input': ('ERROR_PARAMETERS_NOT_FOUND', 'ATTN, need revision'),
    'unknown_atom_type': ('ERROR_OUTPUT_MISSING', 'Atom type of zz does not exist in PARMCHK.DAT'),
}


def frcmod_sections(text: str) -> dict:
    """The parameter lines of each frcmod section, blanks squeezed."""
    sections, current = {name: [] for name in SECTIONS}, None
    for line in text.splitlines()[1:]:
        if line.strip() in SECTIONS:
            current = line.strip()
        elif current and line.strip():
            sections[current].append(' '.join(line.split()))
    return sections


@pytest.mark.parametrize('case', CASES)
def test_parmchk2(generate_calc_job_node, data_regression, case):
    node = generate_calc_job_node('perovskite.parmchk2', case)
    results, calcfunction = Parmchk2Parser.parse_from_node(node, store_provenance=False)

    exit_code, words = CASES[case]
    expected = 0 if exit_code is None else Parmchk2Calculation.exit_codes[exit_code].status
    assert calcfunction.exit_status == expected, calcfunction.exit_message
    if words:
        assert words in calcfunction.exit_message
    data = {'outputs': sorted(results)}
    if 'output_parameters' in results:
        data['output_parameters'] = results['output_parameters'].get_dict()
    if 'frcmod' in results:
        data['frcmod'] = frcmod_sections(results['frcmod'].get_content())
    data_regression.check(data)


def test_estimated_and_unresolved_counts(generate_calc_job_node):
    """Thiophene's ring torsions are estimated (penalty scores) and three impropers take parmchk2's default;
    untyped elements are unresolved."""
    results, _ = Parmchk2Parser.parse_from_node(generate_calc_job_node('perovskite.parmchk2', 'thiophene_estimated'),
                                                store_provenance=False)
    assert results['output_parameters'].get_dict() == {'n_estimated': 6, 'n_unresolved': 0}
    results, _ = Parmchk2Parser.parse_from_node(generate_calc_job_node('perovskite.parmchk2', 'untyped_input'),
                                                store_provenance=False)
    assert results['output_parameters']['n_unresolved'] >= 4
