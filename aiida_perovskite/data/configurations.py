"""``ConfigurationSetData`` and ``QEqPotentialData``: reference configurations and the potential learnt from them."""

from __future__ import annotations

import pathlib
import tempfile

from aiida import orm


class ConfigurationSetData(orm.Data):
    """Atomic configurations, with their labels when labelled, as one extended-XYZ file in the repository.

    Each frame carries ``origin`` (where it came from: the ideal crystal, strain, rattle temperature and seed,
    vacancy and removed indices, MD step), and when labelled ``energy`` (eV), ``stress`` (eV/A^3, ASE's sign,
    Voigt), ``forces`` (eV/A) and ``charges`` (e, Mulliken). Attributes (for QueryBuilder): ``n_configurations``,
    ``formulas``, ``n_atoms``, ``labelled``, ``labels`` (how: program, version, method, accuracy, electronic
    temperature, replication, units; None when not labelled) and ``origins``.
    """

    FILENAME = 'configurations.extxyz'

    @classmethod
    def from_atoms(cls, configurations, labels: dict | None = None) -> ConfigurationSetData:
        from aiida_perovskite.mlip.xtb import write

        configurations = list(configurations)
        if not configurations:
            raise ValueError('a configuration set needs at least one configuration')
        node = cls()
        with tempfile.TemporaryDirectory() as folder:
            path = pathlib.Path(folder) / cls.FILENAME
            write(path, configurations)
            node.base.repository.put_object_from_file(str(path), cls.FILENAME)
        node.base.attributes.set_many({
            'n_configurations': len(configurations),
            'formulas': [atoms.get_chemical_formula() for atoms in configurations],
            'n_atoms': [len(atoms) for atoms in configurations],
            'labelled': labels is not None,
            'labels': labels,
            'origins': [atoms.info.get('origin', {}) for atoms in configurations],
        })
        return node

    @property
    def labelled(self) -> bool:
        return bool(self.base.attributes.get('labelled'))

    def configurations(self) -> list:
        """The configurations as ASE atoms (labels in ``info`` and ``arrays``, ``origin`` a dict)."""
        from aiida_perovskite.mlip.xtb import read

        with tempfile.TemporaryDirectory() as folder:
            path = pathlib.Path(folder) / self.FILENAME
            path.write_bytes(self.base.repository.get_object_content(self.FILENAME, mode='rb'))
            return read(path)


class QEqPotentialData(orm.Data):
    """A trained :mod:`aiida_perovskite.mlip.qeq` potential: ``weights.npz`` (plain tensors, loaded without
    pickle) and ``model.json`` (hyperparameters, reference energies, training settings) in the repository.

    Attributes: ``charges`` (False for the short-range-only comparator), ``hyperparameters``, ``metrics``
    (training-set errors), ``n_configurations``. The configuration set it learnt from is the input of the
    calcfunction that created it. ``MlipCalculation`` takes it as ``qeq_potential``.
    """

    @classmethod
    def from_model(cls, model, **attributes) -> QEqPotentialData:
        from aiida_perovskite.mlip.qeq import save

        node = cls()
        with tempfile.TemporaryDirectory() as folder:
            for name in save(model, folder).values():
                node.base.repository.put_object_from_file(str(pathlib.Path(folder) / name), name)
        hyper = {key: value for key, value in model.hyper.items() if key != 'training'}
        node.base.attributes.set_many({'charges': bool(model.hyper['charges']), 'hyperparameters': hyper,
                                       'training': model.hyper.get('training'), **attributes})
        return node

    def write(self, folder) -> pathlib.Path:
        """The weights and hyperparameters written into ``folder`` (``qeq:FOLDER`` names the potential there)."""
        from aiida_perovskite.mlip.qeq import HYPER, WEIGHTS

        folder = pathlib.Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in (WEIGHTS, HYPER):
            (folder / name).write_bytes(self.base.repository.get_object_content(name, mode='rb'))
        return folder

    def files(self) -> dict[str, bytes]:
        from aiida_perovskite.mlip.qeq import HYPER, WEIGHTS

        return {name: self.base.repository.get_object_content(name, mode='rb') for name in (WEIGHTS, HYPER)}

    def model(self):
        """The model, rebuilt from its JSON and loaded from its tensors."""
        from aiida_perovskite.mlip.qeq import load

        with tempfile.TemporaryDirectory() as folder:
            return load(self.write(folder))

    def calculator(self):
        """The potential as an ASE calculator."""
        from aiida_perovskite.mlip.qeq import calculator

        return calculator(self.model())


__all__ = ('ConfigurationSetData', 'QEqPotentialData')
