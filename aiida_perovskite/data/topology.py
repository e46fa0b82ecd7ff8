"""``LammpsTopologyData``: a simulation-ready LAMMPS system (data file plus the commands that define it)."""

from __future__ import annotations

import io

from aiida import orm


class LammpsTopologyData(orm.FolderData):
    """A LAMMPS data file (``data.lmp``) and the force-field include (``forcefield.lmp``).

    ``include forcefield.lmp`` in an input script sets units, styles, reads the
    data file and sets pair coefficients (from ``coefficients.lmp``, which a
    continuation from a restart file includes again) and k-space. Attributes describe the
    system for queries: atom count, replication, box, parameter set, charge
    method, atom types, heteroatom policy and the assumptions it made.
    """

    DATA_FILE = 'data.lmp'
    FORCEFIELD_FILE = 'forcefield.lmp'
    COEFFICIENTS_FILE = 'coefficients.lmp'
    FILES = (DATA_FILE, FORCEFIELD_FILE, COEFFICIENTS_FILE)

    @classmethod
    def from_system(cls, system, cutoff: float, kspace_accuracy: float, **attributes) -> LammpsTopologyData:
        """Write ``system`` (a :class:`aiida_perovskite.forcefield.lammps.LammpsSystem`) into a new node."""
        import pathlib
        import tempfile

        node = cls()
        with tempfile.TemporaryDirectory() as folder:
            path = pathlib.Path(folder) / cls.DATA_FILE
            system.write_data(path)
            node.base.repository.put_object_from_file(str(path), cls.DATA_FILE)
        script = system.forcefield_script(cls.DATA_FILE, cutoff=cutoff, coulomb='long', kspace_accuracy=kspace_accuracy,
                                          coefficients_file=cls.COEFFICIENTS_FILE)
        node.base.repository.put_object_from_filelike(io.BytesIO(script.encode()), cls.FORCEFIELD_FILE)
        coefficients = system.coefficients_script('long')
        node.base.repository.put_object_from_filelike(io.BytesIO(coefficients.encode()), cls.COEFFICIENTS_FILE)
        node.base.attributes.set_many({
            'n_atoms': len(system.atoms),
            'n_atom_types': len(system.types),
            'replication': list(system.replication),
            'box': dict(zip(('lx', 'ly', 'lz', 'xy', 'xz', 'yz'), system.box)),
            'net_charge': system.net_charge,
            'cutoff': cutoff,
            'kspace_accuracy': kspace_accuracy,
            'parameter_set': system.parameter_set.name if system.parameter_set else None,
            'heteroatom_policy': system.policy,
            'assumptions': system.assumptions,
            **attributes,
        })
        return node

    def write(self, folder) -> list:
        """Copy the data file and the force-field includes into ``folder``; return their paths."""
        import pathlib

        folder = pathlib.Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for name in self.FILES:
            path = folder / name
            path.write_bytes(self.base.repository.get_object_content(name, mode='rb'))
            paths.append(path)
        return paths

    @property
    def hydrogen_bond_count(self) -> int:
        """Bonds to hydrogen: the constraints a ladder with ``shake`` puts on this system (one per bond)."""
        from aiida_perovskite.simulation.openmm_system import hydrogen_bond_count, read_data

        return hydrogen_bond_count(read_data(self.base.repository.get_object_content(self.DATA_FILE)))
