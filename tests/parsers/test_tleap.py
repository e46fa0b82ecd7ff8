"""``perovskite.tleap`` parser on stored real tleap outputs (fixtures/README.md says how each was made)."""

import pytest

from aiida_perovskite.calculations.tleap import TleapCalculation
from aiida_perovskite.parsers.tleap import TleapParser

#: case: (exit code name or None for success, words the exit message must hold)
CASES = {
    'butylammonium': (None, None),
    'missing_bond_parameter': ('ERROR_TLEAP', 'Could not find bond parameter for atom types: c3 - zz'),
    'hydrogen_added': ('ERROR_ATOM_COUNT', 'has 34 atoms but the PDB 33'),
}


def prmtop_flag(text: str, flag: str) -> list[str]:
    """The values of one ``%FLAG`` section of a prmtop."""
    lines = [line.rstrip() for line in text.splitlines()]
    start = lines.index(f'%FLAG {flag}') + 2  # after the %FORMAT line
    end = next(i for i in range(start, len(lines)) if lines[i].startswith('%FLAG'))
    return ' '.join(lines[start:end]).split()


@pytest.mark.parametrize('case', CASES)
def test_tleap(generate_calc_job_node, data_regression, case):
    node = generate_calc_job_node('perovskite.tleap', case)
    results, calcfunction = TleapParser.parse_from_node(node, store_provenance=False)

    exit_code, words = CASES[case]
    expected = 0 if exit_code is None else TleapCalculation.exit_codes[exit_code].status
    assert calcfunction.exit_status == expected, calcfunction.exit_message
    if words:
        assert words in calcfunction.exit_message
    data = {'outputs': sorted(results), 'output_parameters': results['output_parameters'].get_dict()}
    if 'prmtop' in results:
        prmtop = results['prmtop'].get_content()
        data['prmtop'] = {'n_atoms': int(prmtop_flag(prmtop, 'POINTERS')[0]),
                          'residues': prmtop_flag(prmtop, 'RESIDUE_LABEL'),
                          'atom_types': sorted(set(prmtop_flag(prmtop, 'AMBER_ATOM_TYPE')))}
        data['inpcrd_atoms'] = int(results['inpcrd'].get_content().splitlines()[1].split()[0])
    data_regression.check(data)


def test_counts_of_a_sound_run(generate_calc_job_node):
    """Two butylammonium copies, 2 x 17 atoms, in prmtop and inpcrd alike; no errors."""
    results, calcfunction = TleapParser.parse_from_node(generate_calc_job_node('perovskite.tleap', 'butylammonium'),
                                                        store_provenance=False)
    assert calcfunction.is_finished_ok
    assert results['output_parameters']['n_atoms'] == 34 and results['output_parameters']['errors'] == 0
    assert int(results['inpcrd'].get_content().splitlines()[1].split()[0]) == 34
