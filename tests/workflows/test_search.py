"""``StructureSearchWorkChain``: a small real search (LAMMPS minimisations, then CHGNet) end to end."""

import numpy as np
import pytest
from aiida.engine import run_get_node

from aiida_perovskite.search import deduplicate
from aiida_perovskite.workflows.search import StructureSearchWorkChain


@pytest.fixture
def codes(aiida_localhost):
    from aiida_perovskite.tools.codes import register_local_codes

    aiida_localhost.configure(safe_interval=0)
    aiida_localhost.set_minimum_job_poll_interval(0.0)
    return register_local_codes(aiida_localhost)


def test_protocols_name_every_input():
    for protocol in StructureSearchWorkChain.get_available_protocols():
        inputs = StructureSearchWorkChain.get_protocol_inputs(protocol)
        assert set(inputs) == {'generator', 'keep', 'parametrise', 'minimise', 'mlip', 'max_iterations'}
        assert inputs['minimise']['box_relax'] == 'tri'


def test_small_search_end_to_end(codes):
    """Ethylammonium lead iodide, 3 candidates of one formula unit: every candidate minimised with its cell
    free from one parametrisation, the 2 lowest distinct ones relaxed with CHGNet and ranked."""
    builder = StructureSearchWorkChain.get_builder_from_protocol(
        codes, 'CCN', 'RP', 'Pb', 'I', 'fast',
        {'generator': {'candidates': 3, 'seed': 1, 'formula_units': [1]}, 'keep': 2,
         'minimise': {'maxiter': 150, 'maxeval': 1500}})
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    assert sorted(results['candidates']) == ['c000', 'c001', 'c002']
    # the spacer was parametrised once: one antechamber run in the whole search
    labels = [child.process_label for child in node.called_descendants]
    assert labels.count('AntechamberCalculation') == 1 and labels.count('TleapCalculation') == 1
    assert labels.count('LammpsSegmentCalculation') >= 3
    energies = results['energies'].get_dict()
    assert sorted(energies['classical']) == ['c000', 'c001', 'c002']
    # formula units are the composition's: EA2PbI4
    for key, structure in results['classical'].items():
        composition = structure.get_pymatgen_structure().composition
        assert composition['Pb'] == 1 and composition['I'] == 4 and composition['N'] == 2
        before = results['candidates'][key].get_pymatgen_structure()
        # the cell relaxed (box/relax): the volume changed, and by less than a factor 2
        ratio = structure.get_pymatgen_structure().volume / before.volume
        assert 0.5 < ratio < 1.5 and abs(ratio - 1) > 1e-3
    ranking = results['ranking'].get_dict()
    assert len(results['mlip']) == 2 and set(results['mlip']) <= set(energies['classical'])
    assert set(energies['mlip']) == set(results['mlip'])
    # CHGNet total energies of EA2PbI4 are about -5 eV/atom x 27 atoms: per formula unit, -100 to -170 eV
    assert all(-170 < value < -100 for value in energies['mlip'].values())
    order = ranking['order']
    assert [ranking['energies'][key] for key in order] == sorted(ranking['energies'][key] for key in order)
    assert np.isclose(ranking['energies'][order[0]], min(energies['mlip'].values()))
    assert len(results['ranked']) == ranking['distinct'] == len(order)
    assert results['ranked']['r01'].uuid == results['mlip'][order[0]].uuid
    # the ranked structures are distinct by the same matcher
    assert len(deduplicate([s.get_pymatgen_structure() for s in results['ranked'].values()])) == len(order)
