"""The temperature ladder with real LAMMPS runs: a fast protocol, and forced interruptions."""

import numpy as np
import pytest
from aiida.engine import run_get_node

from aiida_perovskite.workflows.ladder import TemperatureLadderWorkChain
from aiida_perovskite.workflows.parametrise import ParametriseWorkChain


@pytest.fixture
def codes(aiida_localhost):
    from aiida_perovskite.tools.codes import register_local_codes

    return register_local_codes(aiida_localhost)


def topology_of(structure, codes, cif_node, replication):
    builder = ParametriseWorkChain.get_builder_from_protocol(
        codes, cif_node(structure, 'ba2pbi4.cif'), 'fast', {'lammps': {'replication': replication}})
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    return results['topology']


def segments(ladder):
    """The ladder's segment work chains by call label (minimise, equilibrate, npt_T250...)."""
    return {node.base.attributes.get('label', node.label) or node.label: node for node in ladder.called
            if node.process_type.endswith('perovskite.segment')}


def test_protocols():
    thesis, fast = (TemperatureLadderWorkChain.get_protocol_inputs(name) for name in ('thesis', 'fast'))
    assert thesis['temperatures'] == list(range(200, 351, 10))
    assert (thesis['steps_per_temperature'], thesis['thermo_every'], thesis['timestep']) == (40000, 1000, 1.0)
    assert fast['equilibration_cut'] < fast['steps_per_temperature']
    assert fast['thermo_every'] == 50 and fast['minimise']['etol'] == 1e-6  # merged, not replaced
    with pytest.raises(ValueError, match='unknown protocol'):
        TemperatureLadderWorkChain.get_protocol_inputs('slow')


def test_fast_ladder_summarises_every_temperature(codes, cif_node, butylammonium_rp, check_quenched):
    topology = topology_of(butylammonium_rp, codes, cif_node, [1, 1, 1])
    builder = TemperatureLadderWorkChain.get_builder_from_protocol(codes['lammps'], topology, 'fast')
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    settings = node.inputs.parameters.get_dict()
    assert sorted(results['summaries']) == ['T250', 'T300']
    for label, temperature in (('T250', 250), ('T300', 300)):
        summary = results['summaries'][label].get_dict()
        assert summary['temperature'] == temperature
        expected = (settings['steps_per_temperature'] - settings['equilibration_cut']) // settings['thermo_every']
        assert summary['n_samples'] == expected
        assert 10 < summary['volume_per_atom_mean'] < 30  # Angstrom^3 per atom: a condensed phase
        assert abs(summary['temp_mean'] - temperature) < 0.25 * temperature
        # Block-averaged errors of correlated samples are never below the naive ones; the fluctuation estimate
        # of dU/dT per atom is near the harmonic 1.5 k_B (3.0e-3 kcal/mol/K): a missing 1/N or k_B would show.
        assert summary['pe_per_atom_sem'] >= summary['pe_per_atom_sem_naive'] > 0
        assert summary['volume_per_atom_sem'] >= summary['volume_per_atom_sem_naive'] > 0
        assert 6e-4 < summary['cp_fluctuation'] < 1.5e-2 and 0 < summary['cp_fluctuation_sem'] < summary['cp_fluctuation']
    series = results['thermo']
    assert set(series.get_array('setpoint')) == {250.0, 300.0}
    assert len(results['structure'].sites) == topology.base.attributes.get('n_atoms')
    check_quenched(results)  # the last frame quenched; only the last segment writes one
    written = {label: 'quenched_data' in segment.outputs for label, segment in segments(node).items()}
    assert written == {'minimise': False, 'equilibrate': False, 'npt_T250': False, 'npt_T300': True}, written
    # The ladder sets no PPPM accuracy: every segment runs with the one its topology was written with.
    assert 'kspace_accuracy' not in settings
    for segment in segments(node).values():
        assert segment.inputs.lammps.parameters['kspace_accuracy'] == topology.base.attributes.get('kspace_accuracy') == 1e-4


def test_shake_ladder_runs_downwards_and_gives_the_rigid_bonds_back(codes, cif_node, butylammonium_rp):
    """X-H bonds held rigid with 2 fs steps, hottest temperature first: the summaries count the rigid bonds (one
    per hydrogen) and the targets add k_B/2 per rigid bond and atom to d<U>/dT."""
    from aiida_perovskite.analysis import ladder_targets
    from aiida_perovskite.simulation.blocking import BOLTZMANN_KCAL_MOL

    topology = topology_of(butylammonium_rp, codes, cif_node, [1, 1, 1])
    overrides = {'temperatures': [300, 250], 'timestep': 2.0, 'shake': True}
    results, node = run_get_node(TemperatureLadderWorkChain.get_builder_from_protocol(
        codes['lammps'], topology, 'fast', overrides))
    assert node.is_finished_ok, node.exit_message
    hydrogens = sum(site.kind_name == 'H' for site in results['structure'].sites)
    atoms = topology.base.attributes.get('n_atoms')
    assert hydrogens == topology.hydrogen_bond_count > 0
    assert [int(results['summaries'][label]['n_constraints']) for label in ('T300', 'T250')] == [hydrogens] * 2
    started = {label: segment.ctime for label, segment in segments(node).items()}
    assert started['equilibrate'] < started['npt_T300'] < started['npt_T250']  # in the order given
    targets = ladder_targets([summary.get_dict() for summary in results['summaries'].values()])
    assert targets['temperatures'] == [250.0, 300.0]
    assert targets['cp_u_constraint_shift'] == pytest.approx(hydrogens / atoms * BOLTZMANN_KCAL_MOL / 2)
    assert 0.05 < targets['cp_u_constraint_shift'] / targets['cp_u'] < 0.5


def test_interrupted_ladder_runs_every_step_once(codes, cif_node, butylammonium_rp):
    """Segments stopped every 2 s by timer timeout finish by themselves with the same steps as a clean run."""
    topology = topology_of(butylammonium_rp, codes, cif_node, [3, 3, 1])
    overrides = {'temperatures': [250, 300], 'steps_per_temperature': 600, 'equilibration_steps': 200,
                 'thermo_every': 50, 'restart_every': 100, 'minimise': {'maxiter': 50, 'maxeval': 500}}
    runs = {}
    for name, extra in (('clean', {}), ('interrupted', {'timeout': 1})):
        builder = TemperatureLadderWorkChain.get_builder_from_protocol(
            codes['lammps'], topology, 'fast', overrides={**overrides, **extra})
        results, node = run_get_node(builder)
        assert node.is_finished_ok, node.exit_message
        runs[name] = (results, segments(node))

    attempts = 0
    for label in ('npt_T250', 'npt_T300'):
        for name in runs:
            summary = runs[name][1][label].outputs.summary.get_dict()
            assert summary['steps_run'] == 600, (name, label, summary)  # nothing lost, nothing repeated
            if name == 'interrupted':
                attempts += summary['attempts']
                assert sum(summary['steps_per_attempt']) == 600
        clean = runs['clean'][1][label].outputs.thermo.get_array('step')
        interrupted = runs['interrupted'][1][label].outputs.thermo.get_array('step')
        assert np.array_equal(clean, interrupted)
    assert attempts > 2  # the interruptions really happened
    for label in ('T250', 'T300'):
        assert runs['interrupted'][0]['summaries'][label]['n_samples'] == runs['clean'][0]['summaries'][label]['n_samples']
