"""``MlipLabelCalculation`` and its driver run for real (CHGNet) on the test computer with this virtualenv's Python."""

import json

import numpy as np
import pytest
from aiida import orm
from aiida.engine import run_get_node

from aiida_perovskite.builder import alkylammonium, layered_perovskite
from aiida_perovskite.mlip import label


@pytest.fixture
def cells():
    """(BDA)PbI4 (Dion-Jacobson, ideal, 25 atoms) and a copy with its atoms displaced by 0.05 A."""
    from pymatgen.io.ase import AseAtomsAdaptor

    ideal = AseAtomsAdaptor.get_atoms(layered_perovskite(alkylammonium(4, diammonium=True), phase='DJ'))
    ideal.info['origin'] = {'kind': 'ideal'}
    rattled = ideal.copy()
    rattled.rattle(0.05, seed=3)
    rattled.info['origin'] = {'kind': 'rattled', 'seed': 3}
    return [ideal, rattled]


def test_labels_come_from_the_potential_loaded_once(aiida_localhost, cells):
    from aiida_perovskite.calculations.mlip import MlipLabelCalculation
    from aiida_perovskite.data import ConfigurationSetData
    from aiida_perovskite.mlip.potentials import load_potential
    from aiida_perovskite.tools.codes import register_local_codes

    code = register_local_codes(aiida_localhost)['mlip']
    results, node = run_get_node(MlipLabelCalculation, code=code, configurations=ConfigurationSetData.from_atoms(cells),
                                 parameters=orm.Dict({'potential': 'chgnet'}))
    assert node.is_finished_ok, node.exit_message
    out = results['configurations']
    labels = out.base.attributes.get('labels')
    assert out.labelled and labels['method'] == 'chgnet' and len(labels['weights_sha256']) == 64
    assert labels['units']['energy'] == 'eV' and labels['dispersion'] is None
    assert results['output_parameters']['n_labelled'] == 2 and results['output_parameters']['failures'] == []
    # the same numbers as the potential called here, and each configuration's origin kept
    calculator, _ = load_potential('chgnet')
    for given, got in zip(cells, out.configurations()):
        atoms = given.copy()
        atoms.calc = calculator
        assert got.info['origin'] == given.info['origin']
        assert got.info['energy'] == pytest.approx(atoms.get_potential_energy(), abs=1e-4)
        assert np.allclose(got.arrays['forces'], atoms.get_forces(), atol=1e-4)
        assert np.allclose(got.info['stress'], atoms.get_stress(voigt=True), atol=1e-6)
    # about -4 eV/atom (a unit slip would be x23 or /23); displacing the atoms costs energy
    energies = [atoms.info['energy'] / len(atoms) for atoms in out.configurations()]
    assert -5.5 < energies[0] < -3.0 and energies[1] > energies[0]

    with pytest.raises(ValueError, match='unknown potential'):
        run_get_node(MlipLabelCalculation, code=code, configurations=ConfigurationSetData.from_atoms(cells),
                     parameters=orm.Dict({'potential': 'mace'}))


def test_driver_names_what_it_refuses_and_leaves_out(tmp_path, monkeypatch, cells, capsys):
    from ase.calculators.calculator import Calculator, all_changes

    from aiida_perovskite.mlip import xtb

    monkeypatch.chdir(tmp_path)
    (tmp_path / label.SETTINGS).write_text(json.dumps({'potential': 'chgnet', 'steps': 3}))
    xtb.write(tmp_path / label.CONFIGURATIONS, cells)
    assert label.main([label.SETTINGS, label.CONFIGURATIONS]) == 2
    assert "unknown labelling setting(s) ['steps']" in capsys.readouterr().err
    assert not (tmp_path / label.RESULTS).exists()
    with pytest.raises(ValueError, match='QEq potential'):
        label.validate_settings({'potential': 'qeq:somewhere'})

    class Blows(Calculator):
        """Finite for the first configuration, NaN for the second (a potential that diverged)."""

        implemented_properties = ('energy', 'forces', 'stress')

        def calculate(self, atoms=None, properties=('energy',), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            bad = atoms.info['origin']['kind'] == 'rattled'
            self.results = {'energy': np.nan if bad else -1.0, 'forces': np.zeros((len(atoms), 3)),
                            'stress': np.zeros(6)}

    labelled, failures, seconds = label.label_all(cells, Blows())
    assert len(labelled) == 1 and labelled[0].info['energy'] == -1.0 and labelled[0].calc is None
    assert failures == [{'index': 1, 'message': 'ValueError: non-finite energy, forces or stress'}]
    assert len(seconds) == 2
