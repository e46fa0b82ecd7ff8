"""Calcfunctions of the temperature ladder: per-temperature summaries, the ladder's series, the final cell."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from aiida_perovskite.simulation.summary import THERMO_COLUMNS, summarise_temperature


def _columns(thermo: orm.ArrayData) -> dict[str, np.ndarray]:
    return {name: thermo.get_array(name) for name in THERMO_COLUMNS}


@calcfunction
def summarise_segment(thermo: orm.ArrayData, settings: orm.Dict) -> orm.Dict:
    """Mean and standard deviation of one temperature's samples after its equilibration cut.

    ``settings``: ``temperature``, ``n_atoms``, ``start_step``, ``end_step``, ``equilibration_cut`` and the
    barostat's ``pressure`` (atm; 1 if absent), which the fluctuation estimate of ``d<U>/dT`` needs, and
    ``n_constraints``, the bonds the run held rigid (0 if absent), which the targets correct ``d<U>/dT`` for.
    """
    s = settings.get_dict()
    record = summarise_temperature(_columns(thermo), s['n_atoms'], s['start_step'], s['end_step'], s['equilibration_cut'],
                                   temperature=float(s['temperature']), pressure=float(s.get('pressure', 1.0)))
    return orm.Dict({'temperature': float(s['temperature']), 'start_step': s['start_step'],
                     'end_step': s['end_step'], 'equilibration_cut': s['equilibration_cut'],
                     'n_constraints': int(s.get('n_constraints', 0)), **record})


@calcfunction
def ladder_series(settings: orm.Dict, **thermos) -> orm.ArrayData:
    """One thinned thermo series over the whole ladder, with the set-point temperature of each row.

    :param settings: ``temperatures`` (in ladder order, matching ``thermo_0``, ``thermo_1``...)
        and ``thin_every`` (keep every n-th row).
    """
    s = settings.get_dict()
    every = int(s.get('thin_every', 1))
    parts, setpoints = [], []
    for index, temperature in enumerate(s['temperatures']):
        columns = _columns(thermos[f'thermo_{index}'])
        keep = slice(None, None, every)
        parts.append({name: values[keep] for name, values in columns.items()})
        setpoints.append(np.full(len(columns['step'][keep]), float(temperature)))
    series = orm.ArrayData()
    for name in THERMO_COLUMNS:
        series.set_array(name, np.concatenate([part[name] for part in parts]))
    series.set_array('setpoint', np.concatenate(setpoints))
    return series


@calcfunction
def final_structure(final_data: orm.SinglefileData) -> orm.StructureData:
    """The last configuration of the ladder as a structure (elements from the masses of the data file)."""
    return orm.StructureData(pymatgen=lammps_data_structure(final_data.get_content()))


def lammps_data_structure(text: str):
    """A LAMMPS data file as a pymatgen ``Structure``, atoms by id (elements from the masses); coefficient
    sections (the project's ``data.lmp`` and what ``simulation.openmm_system.write_data`` writes) are skipped."""
    from pymatgen.core import Element, Lattice, Structure

    lines = text.splitlines()
    box = {}
    masses, atoms, section = {}, [], None
    for line in lines:
        fields = line.split('#')[0].split()
        if not fields:
            continue
        if fields[-1] in ('xhi', 'yhi', 'zhi'):
            box[fields[-1][0]] = float(fields[1]) - float(fields[0])
        elif fields[-3:] == ['xy', 'xz', 'yz']:
            box['xy'], box['xz'], box['yz'] = map(float, fields[:3])
        elif fields[0] in ('Masses', 'Atoms', 'Velocities', 'Bonds', 'Angles', 'Dihedrals', 'Impropers') or \
                fields[-1] == 'Coeffs':  # 'Bond Coeffs' etc.: a data file written with its coefficients
            section = fields[0]
        elif section == 'Masses':
            masses[int(fields[0])] = float(fields[1])
        elif section == 'Atoms':
            atoms.append((int(fields[0]), int(fields[2]), [float(x) for x in fields[4:7]]))
    lattice = Lattice([[box['x'], 0, 0], [box.get('xy', 0.0), box['y'], 0], [box.get('xz', 0.0), box.get('yz', 0.0), box['z']]])
    candidates = [Element(symbol) for symbol in ('H', 'C', 'N', 'O', 'F', 'S', 'Cl', 'Br', 'I', 'Pb', 'Sn', 'Si', 'B', 'P', 'Se', 'Cs', 'Bi', 'Sb', 'In', 'Ge')]
    element = {kind: min(candidates, key=lambda e: abs(float(e.atomic_mass) - mass)).symbol for kind, mass in masses.items()}
    atoms.sort()
    return Structure(lattice, [element[kind] for _, kind, _ in atoms], [xyz for *_, xyz in atoms],
                     coords_are_cartesian=True)
