"""Calcfunctions around the AmberTools steps: what goes in, and the LAMMPS topology that comes out.

The chemistry is in :mod:`aiida_perovskite.forcefield`; these functions only
move it between nodes so every file is part of the provenance graph.
"""

from __future__ import annotations

import io

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from aiida_perovskite.common.exit_codes import exit_code
from aiida_perovskite.data import LammpsTopologyData, ParameterSetData
from aiida_perovskite.forcefield import ForceFieldError
from aiida_perovskite.forcefield.amber import atom_names, cell_pdb, renormalise_mol2_charges, residue_name, spacer_mol2


def unique_molecules(decomposition: orm.Dict) -> list[dict]:
    """Every unique organic molecule of a decomposition record (spacers, A-site cations, then neutral guests
    such as lattice water, all parametrised alike: GAFF types and the run's charge method through antechamber)."""
    record = decomposition.get_dict()
    return record['spacers'] + record['a_site_molecules'] + record.get('guests', [])


def _file(text: str, filename: str) -> orm.SinglefileData:
    return orm.SinglefileData(io.BytesIO(text.encode()), filename=filename)


@calcfunction
def extract_molecules(structure: orm.StructureData, decomposition: orm.Dict):
    """One mol2 per unique molecule (its template copy, whole), keyed by residue name ``S01``, ``S02``..."""
    positions = np.array([site.position for site in structure.sites])
    outputs = {}
    for index, molecule in enumerate(unique_molecules(decomposition)):
        name = residue_name(index)
        orders = {(i, j): order for i, j, order in molecule['bonds']}
        coordinates = positions[molecule['copies'][0]]
        text = spacer_mol2(molecule['symbols'], coordinates, orders, molecule['formal_charges'], name)
        outputs[name] = _file(text, f'{name}.mol2')
    return outputs


@calcfunction
def prepare_tleap_inputs(structure: orm.StructureData, decomposition: orm.Dict, **molecules):
    """Charges of each typed molecule shifted to its integer total, and the PDB of every copy in the cell.

    :param molecules: antechamber's mol2 per residue name.
    """
    positions = np.array([site.position for site in structure.sites])
    outputs, residues = {}, []
    for index, molecule in enumerate(unique_molecules(decomposition)):
        name = residue_name(index)
        with molecules[name].open(mode='r') as handle:
            outputs[name] = _file(renormalise_mol2_charges(handle.read(), molecule['charge']), f'{name}.mol2')
        names = atom_names(molecule['symbols'])
        residues += [(name, names, molecule['symbols'], positions[copy]) for copy in molecule['copies']]
    outputs['pdb'] = _file(cell_pdb(residues), 'cell.pdb')
    return outputs


@calcfunction
def write_lammps_topology(
    structure: orm.StructureData,
    decomposition: orm.Dict,
    prmtop: orm.SinglefileData,
    inpcrd: orm.SinglefileData,
    parameter_set: ParameterSetData,
    settings: orm.Dict,
):
    """The LAMMPS system: GAFF organic part from the prmtop, ions and cross terms from the parameter set.

    ``settings``: ``replication`` (three integers, ``"auto"`` for the smallest box at least twice
    the cut-off, or ``{"in_plane": N, "stacking": M}`` along and across the layers), ``cutoff``,
    ``kspace_accuracy``, ``heteroatom_policy``, ``charge_model`` (``formal``, ``myp``, ``scaled:F``)
    and, recorded on the node, ``charge_method`` and ``atom_types``. The topology's attributes
    name the charge model, the ion charges and the factor on the organic charges.
    """
    import pathlib
    import tempfile

    import parmed

    from aiida_perovskite.forcefield.lammps import build_system, resolve_replication

    options = settings.get_dict()
    lattice = np.array(structure.cell)
    record = decomposition.get_dict()
    try:
        replication = resolve_replication(options['replication'], lattice, options['cutoff'],
                                          record.get('miller_index'))
    except ValueError as error:
        return exit_code('ERROR_INVALID_REPLICATION', f'replication: {error}')
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for node, name in ((prmtop, 'cell.prmtop'), (inpcrd, 'cell.inpcrd')):
            path = pathlib.Path(folder) / name
            with node.open(mode='rb') as handle:
                path.write_bytes(handle.read())
            paths.append(str(path))
        organic = parmed.load_file(*paths)
    sites = structure.sites
    ions = [(structure.get_kind(sites[i].kind_name).symbol, np.array(sites[i].position)) for i in record['inorganic_indices']]
    try:
        system = build_system(
            organic, ions, lattice, parameter_set.parameter_set,
            policy=options['heteroatom_policy'], replication=tuple(replication),
            charge_model=options['charge_model'],
        )
    except ForceFieldError as error:
        return exit_code('ERROR_FORCEFIELD', f'{type(error).__name__}: {error}')
    topology = LammpsTopologyData.from_system(
        system, cutoff=options['cutoff'], kspace_accuracy=options['kspace_accuracy'],
        charge_method=options.get('charge_method'), atom_types=options.get('atom_types'),
        formula=record['formula'], source=record['file'],
        charge_model=system.charge_model.spec, ion_charges=system.ion_charges,
        organic_charge_scale=system.organic_charge_scale,
    )
    return {'topology': topology}
