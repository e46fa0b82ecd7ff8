"""``StructureSearchWorkChain``: a small real search (LAMMPS minimisations, then CHGNet) end to end."""

import numpy as np
import pytest
from aiida.engine import run_get_node

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
        assert set(inputs) == {'generator', 'keep', 'parametrise', 'anneal', 'minimise', 'preselect', 'mlip',
                               'max_iterations'}
        # the keep are chosen by the MLIP's energy at the classical minima (docs: method/search)
        assert inputs['preselect'] == 'mlip'
        assert inputs['minimise']['box_relax'] == 'tri'
        # every protocol anneals its candidates at ambient pressure before minimising them (docs: method/search)
        assert inputs['anneal']['steps'] > 0 and inputs['anneal']['pressure'] == 1.0
        assert 250 <= inputs['anneal']['temperature'] <= 400


@pytest.mark.parametrize('anneal, problem', [
    ({'temperature': 300.0, 'pressure': 1.0, 'steps': -1}, 'steps must be 0 or more'),
    ({'temperature': 300.0, 'steps': 100}, "needs ['pressure']"),
    ({'temperature': 0.0, 'pressure': 1.0, 'steps': 100}, 'temperature must be positive'),
    ({'temperature': 300.0, 'pressure': 1.0, 'steps': 100, 'time': 5}, "unknown anneal setting(s) ['time']"),
])
def test_anneal_settings_are_checked(anneal, problem):
    from aiida import orm

    from aiida_perovskite.workflows.search import _validate_anneal

    assert problem in _validate_anneal(orm.Dict(anneal), None)
    assert _validate_anneal(orm.Dict({'steps': 0}), None) is None
    # the ranking stage needs dispersion to put an experimental structure lowest (docs: method/search);
    # the minute-scale protocol for tests and demos keeps the cheaper potential
    potentials = {protocol: StructureSearchWorkChain.get_protocol_inputs(protocol)['mlip']['parameters']['potential']
                  for protocol in StructureSearchWorkChain.get_available_protocols()}
    assert potentials == {'thesis': 'sevennet+d3', 'screening': 'sevennet+d3', 'fast': 'chgnet'}


def test_small_search_end_to_end(codes):
    """Ethylammonium lead iodide (27 atoms), 2 candidates of one formula unit under the ``fast`` protocol:
    both minimised with their cells free from one parametrisation, both relaxed with CHGNet (one run
    each, to 0.2 eV/A and 0.5 GPa) and ranked again by their CHGNet energies. About a minute of wall time
    on 2 cores."""
    builder = StructureSearchWorkChain.get_builder_from_protocol(
        codes, 'CCN', 'RP', 'Pb', 'I', 'fast',
        {'generator': {'candidates': 2, 'seed': 1, 'formula_units': [1]}, 'keep': 2})
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    assert sorted(results['candidates']) == ['c000', 'c001']
    # the spacer was parametrised once: one antechamber run in the whole search
    labels = [child.process_label for child in node.called_descendants]
    assert labels.count('AntechamberCalculation') == 1 and labels.count('TleapCalculation') == 1
    assert labels.count('LammpsSegmentCalculation') >= 4
    # each candidate annealed (NPT from its generated cell, the protocol's steps at its temperature), then
    # minimised from where its anneal stopped
    anneal = StructureSearchWorkChain.get_protocol_inputs('fast')['anneal']
    chains = {child.label: child for child in node.called}
    for key in ('c000', 'c001'):
        annealed, minimised = chains[f'anneal {key}'], chains[f'minimise {key}']
        assert annealed.is_finished_ok and minimised.is_finished_ok
        parameters = annealed.inputs.lammps.parameters.get_dict()
        assert parameters['stage'] == 'npt' and parameters['target_step'] == anneal['steps']
        assert parameters['temperature'] == anneal['temperature'] and parameters['create_velocities']
        # it ran its steps, hot: a 27-atom cell fluctuates, but its mean temperature is the thermostat's
        thermo = annealed.outputs.thermo
        assert thermo.get_array('step')[-1] == anneal['steps']
        assert 0.6 * anneal['temperature'] < thermo.get_array('temp')[len(thermo.get_array('temp')) // 2:].mean() < 1.4 * anneal['temperature']
        assert minimised.inputs.lammps.parent_folder.uuid == annealed.outputs.remote_folder.uuid
    assert chains['anneal c000'].inputs.lammps.parameters['seed'] != chains['anneal c001'].inputs.lammps.parameters['seed']
    energies = results['energies'].get_dict()
    assert sorted(energies['classical']) == ['c000', 'c001']
    # formula units are the composition's: EA2PbI4
    for key, structure in results['classical'].items():
        composition = structure.get_pymatgen_structure().composition
        assert composition['Pb'] == 1 and composition['I'] == 4 and composition['N'] == 2
        before = results['candidates'][key].get_pymatgen_structure()
        # the cell relaxed (box/relax): the volume changed, and by less than a factor 2
        ratio = structure.get_pymatgen_structure().volume / before.volume
        assert 0.5 < ratio < 1.5 and abs(ratio - 1) > 1e-3
        # each classical result came out of its own minimisation
        assert structure.creator is not None
    # the classical ranking is sorted; both distinct minima go on to the MLIP
    classical = results['classical_ranking'].get_dict()
    assert classical['distinct'] == 2
    order = classical['order']
    assert [classical['energies'][key] for key in order] == sorted(classical['energies'][key] for key in order)
    assert all(np.isclose(classical['energies'][key], energies['classical'][key]) for key in order)
    # the MLIP labelled every distinct classical minimum in one calculation, at its classical geometry; the
    # keep were taken from that order (here both)
    assert labels.count('MlipLabelCalculation') == 1
    preselection = results['preselection'].get_dict()
    assert sorted(preselection['energies']) == sorted(order)
    assert [preselection['energies'][key] for key in preselection['order']] == sorted(preselection['energies'].values())
    assert all(-170 < value < -100 for value in preselection['energies'].values())
    labelled = results['preselection'].creator.inputs.labelled
    assert labelled.creator.process_label == 'MlipLabelCalculation'
    assert {atoms.info['origin']['structure_uuid'] for atoms in labelled.configurations()} == {
        results['classical'][key].uuid for key in order}
    assert sorted(results['mlip']) == sorted(energies['mlip']) == sorted(preselection['order'][:2])
    # each kept cell relaxed by its own MlipRelaxWorkChain of the search, in one MlipCalculation (it
    # converged without a restart: the loose criteria are what keeps this test at about a minute)
    assert labels.count('MlipCalculation') == 2
    for key, relaxed in results['mlip'].items():
        chain = relaxed.creator.caller
        assert chain.process_label == 'MlipRelaxWorkChain' and chain.caller.uuid == node.uuid
        assert chain.inputs.mlip.structure.uuid == results['classical'][key].uuid
        assert relaxed.get_pymatgen_structure().composition == results['classical'][key].get_pymatgen_structure().composition
    # CHGNet total energies of EA2PbI4 are about -5 eV/atom x 27 atoms: per formula unit -170 to -100 eV,
    # far from the classical (GAFF + MYP) energies: the final ranking is by the MLIP energies alone
    for key, value in energies['mlip'].items():
        assert np.isfinite(value) and -170 < value < -100
        assert abs(value - energies['classical'][key]) > 1.0
    ranking = results['ranking'].get_dict()
    final = ranking['order']
    assert [ranking['energies'][key] for key in final] == sorted(ranking['energies'][key] for key in final)
    assert all(np.isclose(ranking['energies'][key], energies['mlip'][key]) for key in final)
    assert final[0] == min(energies['mlip'], key=energies['mlip'].get)
    assert len(results['ranked']) == ranking['distinct'] == len(final)
    assert results['ranked']['r01'].uuid == results['mlip'][final[0]].uuid
    if len(final) == 2:
        gap = ranking['energies'][final[1]] - ranking['energies'][final[0]]
        assert np.isclose(ranking['gap_to_next'], gap) and gap >= 0
