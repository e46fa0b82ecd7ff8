"""The QEq potential end to end: real tblite labels on a 7-atom Cs2PbI4 cell, a tiny HIP-NN with learned charges
trained on them and stored as a node, then reloaded from that node in a new process."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from aiida_perovskite.mlip import qeq, sampling, xtb

SETTINGS = {'method': 'GFN1-xTB', 'accuracy': 1.0, 'electronic_temperature_k': 300.0}
HYPER = {'n_features': 12, 'n_sensitivities': 10}
TRAINING = {'epochs': 25, 'charge_epochs': 30, 'seed': 3}


@pytest.fixture(scope='module')
def cell():
    """The primitive cell of ideal Cs2PbI4 (n = 1 Ruddlesden-Popper), 7 atoms."""
    return sampling.primitive(sampling.ruddlesden_popper(1))


@pytest.fixture(scope='module')
def labelled(cell):
    """Eight strained, 300 K-rattled configurations labelled by GFN1-xTB (real tblite calls)."""
    configurations = sampling.sample(cell, 300.0, 8, seed=11, max_strain=0.02)
    result, failures, _ = xtb.label_all(configurations, SETTINGS)
    assert not failures
    return result


def test_built_crystals_have_the_intended_composition_and_bonds():
    from ase.neighborlist import neighbor_list

    for n, formula, count in ((1, 'Cs4I8Pb2', 14), (2, 'Cs6I14Pb4', 24)):
        atoms = sampling.ruddlesden_popper(n)
        assert atoms.get_chemical_formula() == formula and len(atoms) == count
        first, second, distance = neighbor_list('ijd', atoms, 3.5)
        symbols = np.array(atoms.get_chemical_symbols())
        # Only Pb-I bonds below 3.5 A, each Pb six-fold at 3.2 A: regular octahedra, nothing too close.
        assert set(zip(symbols[first], symbols[second])) == {('Pb', 'I'), ('I', 'Pb')}
        assert np.allclose(distance, 3.2)
        assert all(np.sum(first == index) == 6 for index in np.flatnonzero(symbols == 'Pb'))
    defect = sampling.vacancy(sampling.ruddlesden_popper(1), 'CsI', seed=2)
    assert defect.get_chemical_formula() == 'Cs3I7Pb2' and defect.info['origin']['vacancy'] == 'CsI'


def test_tblite_labels_are_physical(labelled, cell):
    for atoms in labelled:
        forces, charges = atoms.arrays['forces'], atoms.arrays['charges']
        assert np.isfinite(atoms.info['energy']) and -80 < atoms.info['energy'] / len(atoms) < -60  # GFN1, eV/atom
        assert np.abs(forces.sum(axis=0)).max() < 1e-6  # Newton's third law
        assert 0.05 < np.abs(forces).max() < 10  # rattled: real forces, not zeros, not a blow-up
        assert abs(charges.sum()) < 1e-6  # neutral cell
        symbols = np.array(atoms.get_chemical_symbols())
        assert (charges[symbols == 'I'] < -0.2).all() and (charges[symbols != 'I'] > 0.2).all()
        assert np.isfinite(atoms.info['stress']).all() and atoms.info['origin']['temperature_k'] == 300.0
    # A strained cell's stress follows the strain: stretched along a, the cell pulls back (more tensile).
    stretched = xtb.label(sampling.strained(cell, [0.02, 0, 0, 0, 0, 0]), SETTINGS)
    assert stretched['stress'][0] > xtb.label(cell, SETTINGS)['stress'][0] + 1e-3
    # The replicated label is the same crystal on a 2x1x1 grid: same size of energy, charges still neutral.
    twice = xtb.label(cell, {**SETTINGS, 'replicate': [2, 1, 1]})
    assert abs(twice['charges'].sum()) < 1e-6 and len(twice['charges']) == len(cell)
    # A vacancy of the ion is a charged cell: tblite's Mulliken charges sum to it.
    charged = sampling.vacancy(cell, 'I', seed=1, charged=True)
    assert charged.info['charge'] == 1 and xtb.label(charged, SETTINGS)['charges'].sum() == pytest.approx(1, abs=1e-6)
    with pytest.raises(ValueError, match='method must be one of'):
        xtb.validate_settings({'method': 'GFN3'})


def test_trained_potential_conserves_charge_and_learns(labelled, tmp_path):
    model, history = qeq.train(labelled, HYPER, TRAINING)
    # The loss fell by a real margin in both stages.
    assert history['charges'][-1] < 0.2 * history['charges'][0], history['charges']
    assert history['all'][-1] < 0.5 * history['all'][0], history['all']
    reference = np.concatenate([a.arrays['charges'] for a in labelled])
    predicted = qeq.predict(model, labelled)
    charges = np.concatenate([p['charges'] for p in predicted])
    for result in predicted:
        assert abs(result['charges'].sum()) < 1e-6  # the bordered solve fixes the total charge
    assert (np.sign(charges) == np.sign(reference)).all()  # Pb, Cs positive, I negative, as tblite's
    # A charged cell (Cs vacancy of the ion) equilibrates to its own total charge.
    (negative,) = qeq.predict(model, [sampling.vacancy(labelled[1], 'Cs', seed=0, charged=True)])
    assert negative['charges'].sum() == pytest.approx(-1, abs=1e-6)
    errors, baseline = qeq.errors(model, labelled), qeq.baselines(labelled, labelled)
    assert errors['charges_mae_e'] < baseline['charges_element_mean_mae_e']
    assert errors['forces_mae_ev_a'] < baseline['forces_zero_mae_ev_a']
    # Forces are -dE/dr: a finite difference of the model's energy agrees.
    atoms = labelled[0].copy()
    atoms.calc = qeq.calculator(model)
    force = atoms.get_forces()[2, 0]
    atoms.positions[2, 0] += 1e-4
    up = atoms.get_potential_energy()
    atoms.positions[2, 0] -= 2e-4
    assert force == pytest.approx(-(up - atoms.get_potential_energy()) / 2e-4, abs=1e-5)
    # Saved without pickle and reloaded: the same numbers.
    qeq.save(model, tmp_path / 'saved')
    with np.load(tmp_path / 'saved' / qeq.WEIGHTS, allow_pickle=False) as arrays:
        assert all(arrays[key].dtype != object for key in arrays.files)
    again = qeq.predict(qeq.load(tmp_path / 'saved'), labelled[:2])
    # Equal to float64 round-off (torch's intra-op threads may sum in another order under load), far below the
    # change of any weight.
    assert np.allclose(again[0]['forces'], predicted[0]['forces'], rtol=0, atol=1e-10)
    assert again[0]['energy'] == pytest.approx(predicted[0]['energy'], rel=1e-13, abs=1e-11)


def test_engine_relaxes_with_a_trained_potential(labelled, cell, tmp_path):
    from aiida_perovskite.mlip.driver import run

    model, _ = qeq.train(labelled, {**HYPER, 'charges': False}, {**TRAINING, 'epochs': 3})
    folder = tmp_path / 'potential'
    qeq.save(model, folder)
    (tmp_path / 'settings.json').write_text(json.dumps({'potential': f'qeq:{folder}', 'max_steps': 4, 'stages': [
        {'name': 'relax', 'kind': 'relax', 'pressure_gpa': 0.0}]}))
    import ase.io

    ase.io.write(tmp_path / 'structure.extxyz', labelled[0], format='extxyz')
    document = run(tmp_path / 'settings.json', tmp_path / 'structure.extxyz', tmp_path, log=str(tmp_path / 'log'))
    record = document['potential']
    assert record['package'] == 'hippynn' and len(record['weights_sha256']) == 64 and record['dispersion'] is None
    assert document['stages'][0]['steps'] == 4 and np.isfinite(document['energy_ev'])
    # Short MD with the model gives frames to relabel, each saying where it came from.
    frames = sampling.short_md(cell, qeq.calculator(model), 200.0, steps=4, interval=2, seed=1)
    assert [f.info['origin']['md_step'] for f in frames] == [2, 4] and frames[1].calc is None
    assert not np.allclose(frames[0].positions, cell.positions)
    with pytest.raises(ValueError, match='names no folder'):
        from aiida_perovskite.mlip.potentials import parse_name

        parse_name('qeq:')


def test_label_train_store_and_reload_in_a_new_process(labelled, cell, aiida_localhost, tmp_path):
    from aiida import orm
    from aiida.engine import run_get_node
    from aiida.manage import get_manager
    from click.testing import CliRunner

    from aiida_perovskite.calculations.mlip import MlipCalculation
    from aiida_perovskite.calculations.xtb import XtbLabelCalculation
    from aiida_perovskite.cli import cmd_root
    from aiida_perovskite.data import ConfigurationSetData
    from aiida_perovskite.tools.codes import register_local_codes

    # `potential label` samples, and its XtbLabelCalculation labels on the test computer with this
    # virtualenv's Python, keeping each configuration's origin.
    register_local_codes(aiida_localhost)
    result = CliRunner().invoke(cmd_root, ['potential', 'label', '--cell', 'cs2pbi4-primitive', '--count', '2',
                                           '--temperature', '100', '--vacancy', 'I', '--seed', '5'])
    assert result.exit_code == 0, result.output
    out = orm.load_node(int(result.output.split('ConfigurationSetData<')[-1].split('>')[0]))
    calculation = out.creator
    assert calculation.process_class is XtbLabelCalculation and calculation.is_finished_ok, calculation.exit_message
    assert out.labelled and out.base.attributes.get('labels')['method'] == 'GFN1-xTB'
    assert out.base.attributes.get('origins')[0]['vacancy'] == 'I' and out.base.attributes.get('formulas')[0] == 'Cs2I3Pb'
    direct = xtb.label(calculation.inputs.configurations.configurations()[0], SETTINGS)
    assert out.configurations()[0].info['energy'] == pytest.approx(direct['energy'], abs=1e-6)
    assert np.allclose(out.configurations()[0].arrays['charges'], direct['charges'], atol=1e-6)

    training = ConfigurationSetData.from_atoms(labelled, labels=xtb.record(SETTINGS)).store()
    # A few epochs: the learning itself is tested above; here, the node and its reload.
    result = CliRunner().invoke(cmd_root, ['potential', 'train', training.uuid, '--epochs', '3', '--charge-epochs', '3'])
    assert result.exit_code == 0, result.output
    potential = orm.load_node(int(result.output.split('QEqPotentialData<')[-1].split('>')[0]))
    assert potential.creator.process_type == 'aiida.calculations:perovskite.train_qeq'
    assert potential.is_stored and potential.base.attributes.get('charges')
    assert potential.creator.inputs.configurations.uuid == training.uuid  # provenance of its training set
    assert potential.base.attributes.get('metrics')['n_configurations'] == len(labelled)
    expected = qeq.predict(potential.model(), training.configurations()[:3])

    profile = get_manager().get_profile()
    script = textwrap.dedent(f"""
        import json, sys
        from aiida import load_profile, orm
        load_profile({profile.name!r}, allow_switch=True)
        from aiida_perovskite.data import ConfigurationSetData
        from aiida_perovskite.mlip import qeq
        node = orm.load_node({potential.uuid!r})
        data = orm.load_node({training.uuid!r}).configurations()[:3]
        json.dump([{{'energy': float(r['energy']), 'forces': r['forces'].tolist(), 'charges': r['charges'].tolist()}}
                   for r in qeq.predict(node.model(), data)], sys.stdout)
    """)
    from aiida.manage.configuration import get_config

    environment = {**os.environ, 'AIIDA_PATH': str(get_config().dirpath)}
    completed = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, env=environment,
                               timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    reloaded = json.loads(completed.stdout)
    # The MLIP engine's CalcJob runs with the stored potential: its files go with the job, the record names them.
    parameters = orm.Dict({'max_steps': 2, 'stages': [{'name': 'relax', 'kind': 'relax', 'pressure_gpa': 0.0}]})
    relax, relax_node = run_get_node(MlipCalculation, code=register_local_codes(aiida_localhost)['mlip'],
                                     structure=orm.StructureData(ase=labelled[0]), parameters=parameters,
                                     qeq_potential=potential)
    record = relax['output_parameters']['potential']
    assert relax_node.exit_status in (0, MlipCalculation.exit_codes.ERROR_NOT_CONVERGED.status), relax_node.exit_message
    assert record['package'] == 'hippynn' and record['name'] == 'qeq:qeq_potential'
    assert relax['output_parameters']['stages'][0]['steps'] >= 1

    # The relaxation work chain takes the potential by name, qeq:<UUID or PK>, and links the node.
    from aiida_perovskite.workflows.mlip import MlipRelaxWorkChain

    builder = MlipRelaxWorkChain.get_builder_from_protocol(
        relax_node.inputs.code, relax_node.inputs.structure, overrides={'parameters': {'potential': f'qeq:{potential.pk}'}})
    assert builder.mlip.qeq_potential.uuid == potential.uuid
    with pytest.raises(ValueError, match='pass its QEqPotentialData as qeq_potential'):
        run_get_node(MlipCalculation, code=relax_node.inputs.code, structure=relax_node.inputs.structure,
                     parameters=orm.Dict({'potential': 'qeq:somewhere'}))

    # `validate --engine mlip:qeq:<PK>` relaxes an inorganic Cs-Pb-I CIF at 0 K with the trained potential (loose
    # criteria at 0 GPa: this 3-epoch model is no crystal's potential) and prints the deviation table against the
    # CIF's cell; a name that is no potential node is refused up front.
    import ase.io

    cif = tmp_path / 'cs2pbi4.cif'
    ase.io.write(str(cif), sampling.ruddlesden_popper(1))
    loose = {'fmax': 0.2, 'stress_tolerance_gpa': 0.5, 'max_steps': 60,
             'stages': [{'name': 'relax', 'kind': 'relax', 'pressure_gpa': 0.0}]}
    result = CliRunner().invoke(cmd_root, ['validate', str(cif), '--engine', f'mlip:qeq:{potential.pk}',
                                           '--mlip-settings', json.dumps(loose), '--json', str(tmp_path / 'v.json')])
    assert 'mlip:qeq:qeq_potential (hippynn ' in result.output and 'volume per B' in result.output, result.output
    (record,) = json.loads((tmp_path / 'v.json').read_text())
    validation = orm.load_node(record['pk'])
    assert validation.process_label == 'MlipRelaxWorkChain'
    assert validation.called[0].inputs.qeq_potential.uuid == potential.uuid
    volume = next(row for row in record['rows'] if row['quantity'] == 'volume per B')
    assert volume['deviation'] != 0  # relaxed, not the input cell
    result = CliRunner().invoke(cmd_root, ['validate', str(cif), '--engine', 'mlip:qeq:/no/such/folder'])
    assert result.exit_code == 2 and 'no QEqPotentialData with this PK or UUID' in result.output, result.output

    result = CliRunner().invoke(cmd_root, ['potential', 'evaluate', str(potential.pk), str(out.pk)])
    assert result.exit_code == 0, result.output
    assert '2 configurations: MAE energy' in result.output and 'element-mean charges' in result.output
    # The same weights in another process: equal to float64 round-off (torch may sum in another order
    # with another thread count), far below any change of a weight or a hyperparameter.
    for old, new in zip(expected, reloaded):
        assert new['energy'] == pytest.approx(old['energy'], rel=1e-12, abs=1e-10)
        assert np.allclose(np.array(new['forces']), old['forces'], rtol=0, atol=1e-9)
        assert np.allclose(np.array(new['charges']), old['charges'], rtol=0, atol=1e-10)


def test_labelling_command_keeps_good_configurations_and_names_failures(cell, tmp_path, monkeypatch):
    broken = cell.copy()
    broken.positions[1] = broken.positions[0]  # tblite refuses atoms on top of each other
    xtb.write(tmp_path / xtb.CONFIGURATIONS, [cell, broken])
    (tmp_path / xtb.SETTINGS).write_text(json.dumps(SETTINGS))
    monkeypatch.chdir(tmp_path)
    assert xtb.main([xtb.SETTINGS, xtb.CONFIGURATIONS]) == 0
    results = json.loads((tmp_path / xtb.RESULTS).read_text())
    assert results['n_labelled'] == 1 and [f['index'] for f in results['failures']] == [1]
    assert 'close' in results['failures'][0]['message'] and results['record']['version']
    (labelled,) = xtb.read(tmp_path / xtb.LABELLED)
    assert labelled.info['energy'] == pytest.approx(xtb.label(cell, SETTINGS)['energy'], abs=1e-6)
    assert labelled.info['origin']['kind'] == 'ideal' and labelled.arrays['charges'].shape == (7,)
    (tmp_path / 'bad.json').write_text(json.dumps({'method': 'GFN1-xTB', 'smearing': 1}))
    assert xtb.main(['bad.json', xtb.CONFIGURATIONS]) == 2


def test_background_of_a_charged_cell_is_the_ewald_madelung_energy_and_is_fitted():
    import torch

    # A unit point charge in a neutralising background on a simple cubic lattice: -k_e alpha_M / (2 L),
    # alpha_M = 2.837297; the same lattice in a skewed basis gives the same energy.
    for edge in (5.0, 12.0):
        cubic = qeq.madelung(torch.eye(3, dtype=torch.float64) * edge)
        assert float(cubic) == pytest.approx(-qeq.COULOMB * 2.837297 / (2 * edge), rel=1e-6)
    skewed = torch.tensor([[1.0, 0, 0], [1, 1, 0], [0, 1, 1]], dtype=torch.float64) * 12.0
    assert float(qeq.madelung(skewed)) == pytest.approx(-qeq.COULOMB * 2.837297 / 24.0, rel=1e-6)
    # Differentiable in the cell (a charged cell's stress): dE/dL = -E/L for a uniform scaling.
    cell = (torch.eye(3, dtype=torch.float64) * 12.0).requires_grad_(True)
    energy = qeq.madelung(cell)
    energy.backward()
    assert float(torch.trace(cell.grad)) == pytest.approx(-float(energy) / 12.0, rel=1e-6)

    # The reference fit recovers per-element energies and beta from cells of two charges and three sizes, and a
    # neutral set leaves beta at zero.
    base = sampling.primitive(sampling.ruddlesden_popper(1))
    cells = [sampling.strained(sampling.vacancy(base, kind, seed=1, charged=True), [s, s, s, 0, 0, 0])
             for kind in ('I', 'Cs') for s in (-0.03, 0.0, 0.04)] + [base]
    truth = {'53': -71.0, '55': -68.0, '82': -75.0}
    for atoms in cells:
        charge = atoms.info.get('charge', 0)
        background = charge ** 2 * float(qeq.madelung(torch.tensor(atoms.cell.array))) if charge else 0.0
        atoms.info['energy'] = sum(truth[str(z)] for z in atoms.get_atomic_numbers()) + 0.25 * background
    fitted = qeq.reference_energies(cells, [53, 55, 82])
    assert fitted['background_screening'] == pytest.approx(0.25, abs=1e-6)
    assert all(fitted[key] == pytest.approx(value, abs=1e-6) for key, value in truth.items())
    assert qeq.reference_energies([base], [53, 55, 82])['background_screening'] == 0.0
    # The model adds beta Q^2 M(cell) to a charged cell's energy and nothing to a neutral one.
    model = qeq.build({**HYPER, 'charges': False, 'background_screening': 0.25})
    charged = cells[0]
    graph = qeq.graph_of(charged, model.hyper)
    with torch.no_grad():
        with_term = float(model(graph)[0])
        without = float(model({**graph, 'total_charge': 0.0})[0])
    assert with_term - without == pytest.approx(0.25 * float(qeq.madelung(torch.tensor(charged.cell.array))), rel=1e-9)


def test_an_open_shell_cell_carries_a_fitted_energy_per_carrier():
    import torch

    # A neutral I or Cs vacancy leaves one unpaired carrier; a charged vacancy, a CsI pair and the crystal none.
    base = sampling.primitive(sampling.ruddlesden_popper(1))
    assert qeq.carriers(base) == 0
    assert qeq.carriers(sampling.vacancy(base, 'I', seed=1)) == 1 and qeq.carriers(sampling.vacancy(base, 'Cs', seed=1)) == 1
    assert qeq.carriers(sampling.vacancy(base, 'I', seed=1, charged=True)) == 0
    assert qeq.carriers(sampling.vacancy(sampling.ruddlesden_popper(1), 'CsI', seed=2)) == 0
    # The carrier's energy is not in the span of the element counts (an electron and a hole both cost it), so
    # the fit recovers it beside the per-element energies; without open shells it is zero.
    truth = {'53': -71.0, '55': -68.0, '82': -75.0}
    cells = [base, sampling.ruddlesden_popper(2)] + [sampling.vacancy(base, kind, seed=1) for kind in ('I', 'Cs')]
    for atoms in cells:
        atoms.info['energy'] = sum(truth[str(z)] for z in atoms.get_atomic_numbers()) + 1.7 * qeq.carriers(atoms)
        atoms.info['stress'] = np.zeros(6)
        atoms.arrays['forces'] = np.zeros((len(atoms), 3))
        atoms.arrays['charges'] = np.zeros(len(atoms))
    fitted = qeq.reference_energies(cells, [53, 55, 82])
    assert fitted['carrier_energy'] == pytest.approx(1.7, abs=1e-6)
    assert all(fitted[key] == pytest.approx(value, abs=1e-6) for key, value in truth.items())
    assert qeq.reference_energies(cells[:2], [53, 55, 82])['carrier_energy'] == 0.0
    # The model adds it per carrier, and a trained model starts from the fitted value.
    model = qeq.build({**HYPER, 'charges': False, 'carrier_energy': 1.7})
    graph = qeq.graph_of(cells[2], model.hyper)
    with torch.no_grad():
        assert float(model(graph)[0]) - float(model({**graph, 'carriers': 0.0})[0]) == pytest.approx(1.7, rel=1e-12)
    trained, _ = qeq.train(cells, {**HYPER, 'charges': False}, {'epochs': 1, 'charge_epochs': 0, 'seed': 1})
    assert trained.hyper['carrier_energy'] == pytest.approx(1.7, abs=0.5)
    with pytest.raises(ValueError, match='no formal charge'):
        qeq.validate({'formal_charges': {'53': -1}})


def test_relaxation_with_the_reference_lowers_the_energy_and_knows_a_broken_symmetry(cell):
    # The copies of a repeated cell are one crystal of the small cell until an atom of one copy moves alone.
    supercell = cell.repeat([2, 2, 1])
    supercell.set_cell(supercell.cell.array * 1.01, scale_atoms=True)
    assert xtb.copies_deviation(supercell, len(cell), [2, 2, 1]) < 1e-9
    supercell.positions[len(cell) * 3 + 4] += [0.0, 0.05, 0.0]  # copy (1, 1, 0)
    assert xtb.copies_deviation(supercell, len(cell), [2, 2, 1]) == pytest.approx(0.05, abs=1e-9)
    # A few FIRE steps with GFN1-xTB (real tblite) on the 3.2 A crystal, which the reference holds under tension:
    # the energy falls, the cell shrinks and the relaxation is recorded. (With replicate 1 1 1 there is one copy,
    # so the supercell branch is not reached here: relaxing until the octahedra tilt takes minutes.)
    start = xtb.label(cell, SETTINGS)['energy']
    relaxed, record = xtb.relaxed(cell, {**SETTINGS, 'replicate': [1, 1, 1]}, max_steps=6)
    assert record['steps'] == 6 and not record['converged'] and record['supercell'] == [1, 1, 1]
    assert len(relaxed) == len(cell) and relaxed.get_volume() < cell.get_volume()
    assert xtb.label(relaxed, SETTINGS)['energy'] < start - 0.05
    assert relaxed.info['origin']['relaxed_with'] == 'GFN1-xTB'


def test_sampling_cells_put_relaxed_supercells_on_one_grid(cell):
    small = cell.copy()
    small.info['origin'] = {'supercell': [1, 1, 1]}
    tilted = cell.repeat([2, 2, 1])
    tilted.info['origin'] = {'supercell': [2, 2, 1]}
    # Cells that stayed one crystal of the small cell: unchanged, labelled on the replicate grid.
    cells, settings = xtb.sampling_cells([small, small], {'replicate': [2, 2, 1]})
    assert [len(a) for a in cells] == [7, 7] and settings['replicate'] == [2, 2, 1]
    # One tilted: both become 2x2x1 supercells, labelled at Gamma (the same k-point grid).
    cells, settings = xtb.sampling_cells([small, tilted], {'replicate': [2, 2, 1]})
    assert [len(a) for a in cells] == [28, 28] and settings['replicate'] == [1, 1, 1]
    with pytest.raises(ValueError, match='relax them all with the same replicate'):
        xtb.sampling_cells([small, tilted], {'replicate': [3, 3, 1]})


def test_relax_command_then_label_around_the_relaxed_cells(cell, aiida_localhost, tmp_path, monkeypatch):
    from aiida import orm
    from click.testing import CliRunner

    from aiida_perovskite.calculations.xtb import XtbLabelCalculation
    from aiida_perovskite.cli import cmd_root
    from aiida_perovskite.tools.codes import register_local_codes

    assert xtb.validate_relax({'max_steps': '4'}) == {'fmax': xtb.RELAX_DEFAULTS['fmax'], 'max_steps': 4}
    for wrong, message in (({'fmax': 0}, 'fmax > 0'), ({'steps': 4}, 'unknown relax setting'),
                           ({'fmax': 'loose'}, 'must be numbers')):
        with pytest.raises(ValueError, match=message):
            xtb.validate_relax(wrong)
    # The driver's relax mode: a few FIRE steps shrink the 3.2 A crystal (held under tension by GFN1-xTB); a
    # configuration tblite refuses is named, the others kept.
    broken = cell.copy()
    broken.positions[1] = broken.positions[0]
    xtb.write(tmp_path / xtb.CONFIGURATIONS, [cell, broken])
    (tmp_path / xtb.SETTINGS).write_text(json.dumps(SETTINGS))
    monkeypatch.chdir(tmp_path)
    assert xtb.main([xtb.SETTINGS, xtb.CONFIGURATIONS, '--relax', '--max-steps', '4']) == 0
    results = json.loads((tmp_path / xtb.RESULTS).read_text())
    assert results['n_relaxed'] == 1 and [f['index'] for f in results['failures']] == [1]
    (entry,) = results['relaxations']
    assert entry['steps'] == 4 and not entry['converged'] and entry['supercell'] == [1, 1, 1]
    (relaxed,) = xtb.read(tmp_path / xtb.RELAXED)
    assert relaxed.get_volume() < cell.get_volume() - 1.0 and 'energy' not in relaxed.info

    # Through AiiDA: `potential relax` returns the cells as a node, flagged when out of steps; `label --cells`
    # samples around them and labels on the grid they were relaxed on.
    register_local_codes(aiida_localhost)
    result = CliRunner().invoke(cmd_root, ['potential', 'relax', '--cell', 'cs2pbi4-primitive', '--max-steps', '3'])
    assert result.exit_code == 0, result.output
    assert '(not converged)' in result.output and 'volume -' in result.output
    cells = orm.load_node(int(result.output.split('ConfigurationSetData<')[-1].split('>')[0]))
    job = cells.creator
    assert job.process_class is XtbLabelCalculation
    assert job.exit_status == XtbLabelCalculation.exit_codes.ERROR_XTB_RELAX_NOT_CONVERGED.status
    (crystal,) = cells.configurations()
    assert crystal.info['origin']['relaxation']['steps'] == 3 and crystal.get_volume() < cell.get_volume()
    result = CliRunner().invoke(cmd_root, ['potential', 'label', '--cells', str(cells.pk), '--count', '2',
                                           '--temperature', '60', '--max-strain', '0'])
    assert result.exit_code == 0, result.output
    labelled = orm.load_node(int(result.output.split('ConfigurationSetData<')[-1].split('>')[0]))
    for atoms in labelled.configurations():
        assert atoms.info['origin']['relaxed_with'] == 'GFN1-xTB'
        # Rattled around the relaxed cell, not the ideal one.
        assert atoms.get_volume() == pytest.approx(crystal.get_volume(), rel=1e-9)
    assert labelled.base.attributes.get('labels')['replicate'] == [1, 1, 1]
    result = CliRunner().invoke(cmd_root, ['potential', 'label', '--cells', str(cells.pk), '--cell', 'cs2pbi4'])
    assert result.exit_code != 0 and 'give --cell or --cells, not both' in result.output


def test_calculator_reuses_its_pair_list_only_while_no_pair_can_cross_the_cut_off(cell):
    # An untrained model is enough: the question is whether the Verlet list (cut-off plus skin) gives exactly the
    # numbers of a fresh neighbour search at every call, through moves and cell changes, and when it is rebuilt.
    model = qeq.build({**HYPER, 'coulomb_cutoff': 8.0})
    atoms = cell.repeat([2, 2, 1])
    fresh = atoms.copy()
    atoms.calc, fresh.calc = qeq.calculator(model, skin=1.0), qeq.calculator(model, skin=0.0)
    rng = np.random.default_rng(4)
    for step in range(6):  # small moves (0.02 A per component) and strains: the list is kept
        strained = atoms.cell.array * (1 + 0.002 * (step % 2 - 0.5))
        for copy in (atoms, fresh):
            copy.set_cell(strained, scale_atoms=True)
        move = rng.normal(0.0, 0.02, atoms.positions.shape)
        atoms.positions += move
        fresh.positions += move
        assert atoms.get_potential_energy() == pytest.approx(fresh.get_potential_energy(), abs=1e-10)
        assert np.allclose(atoms.get_forces(), fresh.get_forces(), rtol=0, atol=1e-10)
        assert np.allclose(atoms.get_stress(), fresh.get_stress(), rtol=0, atol=1e-12)
        assert np.allclose(atoms.get_charges(), fresh.get_charges(), rtol=0, atol=1e-12)
    assert atoms.calc.rebuilds == 1
    atoms.positions[0] += [0.6, 0.0, 0.0]  # twice 0.6 A is more than the skin: rebuilt, and still exact
    fresh.positions[0] += [0.6, 0.0, 0.0]
    assert np.allclose(atoms.get_forces(), fresh.get_forces(), rtol=0, atol=1e-10)
    assert atoms.calc.rebuilds == 2
    del atoms[0]  # another system: rebuilt
    del fresh[0]
    assert atoms.get_potential_energy() == pytest.approx(fresh.get_potential_energy(), abs=1e-10)
    assert atoms.calc.rebuilds == 3


def test_conjugate_gradient_charges_equal_the_dense_solve(cell):
    # The solve large cells use (no N x N matrix) against the bordered dense one, for a neutral and a charged
    # cell: the same charges (total exact), energy, forces and stress, to round-off.
    model = qeq.build({**HYPER, 'coulomb_cutoff': 8.0})
    atoms = sampling.rattled(cell.repeat([2, 2, 1]), 300.0, seed=8)
    for charge in (0, 1):
        atoms.info['charge'] = charge
        results = []
        for solver in ('dense', 'cg'):
            copy = atoms.copy()
            copy.calc = qeq.calculator(model, solver=solver)
            results.append((copy.get_potential_energy(), copy.get_forces(), copy.get_stress(), copy.get_charges()))
        (energy, forces, stress, charges), (energy_cg, forces_cg, stress_cg, charges_cg) = results
        assert charges_cg.sum() == pytest.approx(charge, abs=1e-10) and np.ptp(charges_cg) > 0.05
        assert energy_cg == pytest.approx(energy, abs=1e-9)
        assert np.allclose(charges_cg, charges, rtol=0, atol=1e-9)
        assert np.allclose(forces_cg, forces, rtol=0, atol=1e-8) and np.abs(forces).max() > 0.01
        assert np.allclose(stress_cg, stress, rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="solver must be 'auto', 'dense' or 'cg'"):
        qeq.calculator(model, solver='lu')
