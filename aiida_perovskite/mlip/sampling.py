"""Configurations of all-inorganic Ruddlesden-Popper Cs-Pb-I perovskites for training a potential, plain Python.

:func:`ruddlesden_popper` builds the ideal ``Cs(n+1)Pb(n)I(3n+1)`` crystal (K2NiF4 / Sr3Ti2O7 type, I4/mmm,
conventional cell of two layers) from the cubic perovskite: Pb-I ``bond`` (3.2 A by default), every
octahedron regular, each layer ``n`` octahedra thick and ended by a CsI rock-salt plane facing the next
layer's. The other functions derive configurations from it: homogeneous strain, thermal rattling
(independent Gaussian displacements whose spread follows a temperature), vacancies (I, Cs, and a
charge-neutral CsI pair of nearest neighbours) and short MD with any ASE calculator. Every configuration
carries where it came from in ``atoms.info['origin']`` (a JSON-ready dict).
"""

from __future__ import annotations

import numpy as np

#: Effective spring constant (eV/A^2) that turns a temperature into a rattle amplitude,
#: sigma = sqrt(kB T / k): 0.09 A at 100 K, 0.16 A at 300 K (Pb-I stretch and octahedral tilts).
RATTLE_SPRING_EV_A2 = 1.0
KB_EV = 8.617333262e-5
#: Distance between the two facing CsI planes of neighbouring layers, in Pb-I bonds (4.0 A for 3.2 A bonds:
#: Cs-I 4.0 A across the gap, 4.5 A within a plane, as in the K2NiF4 type).
RS_GAP = 1.25


def ruddlesden_popper(n: int = 1, bond: float = 3.2):
    """The ideal ``Cs(n+1)Pb(n)I(3n+1)`` Ruddlesden-Popper crystal, conventional body-centred cell (two layers).

    :param n: octahedra per layer (1: Cs2PbI4, 2: Cs3Pb2I7, ...).
    :param bond: Pb-I distance in A; the in-plane lattice parameter is twice it, c is 2 (n a + gap) (:data:`RS_GAP`).
    """
    from ase import Atoms

    if int(n) < 1:
        raise ValueError(f'the layer thickness n must be a positive integer, not {n!r}')
    n = int(n)
    a = 2.0 * bond
    gap = RS_GAP * bond
    half_c = n * a + gap  # n octahedra, then the rock-salt gap to the next layer's CsI plane
    symbols, layer = [], []
    heights = [(k - (n - 1) / 2) * a for k in range(n)]
    for k, h in enumerate(heights):
        symbols += ['Pb', 'I', 'I']
        layer += [[0, 0, h], [a / 2, 0, h], [0, a / 2, h]]
        if k < n - 1:  # inner apical iodide and the A-site Cs of the perovskite block
            symbols += ['I', 'Cs']
            layer += [[0, 0, h + a / 2], [a / 2, a / 2, h + a / 2]]
    for h in (heights[0] - a / 2, heights[-1] + a / 2):  # the two CsI planes that end the layer
        symbols += ['I', 'Cs']
        layer += [[0, 0, h], [a / 2, a / 2, h]]
    layer = np.array(layer, dtype=float)
    positions = np.vstack([layer, layer + [a / 2, a / 2, half_c]])  # the body-centring layer
    symbols = symbols * 2
    atoms = Atoms(symbols, positions=positions, cell=[a, a, 2 * half_c], pbc=True)
    atoms.wrap()
    atoms.info['origin'] = {'kind': 'ideal', 'n': n, 'bond_a': bond, 'formula': atoms.get_chemical_formula()}
    return atoms


def primitive(atoms):
    """The primitive (body-centred) cell of a conventional :func:`ruddlesden_popper` cell: half the atoms."""
    from ase import Atoms

    a1, a2, a3 = atoms.cell.array
    cell = np.array([a1, a2, (a1 + a2 + a3) / 2])
    half = len(atoms) // 2
    result = Atoms(atoms.get_chemical_symbols()[:half], positions=atoms.positions[:half], cell=cell, pbc=True)
    result.wrap()
    result.info['origin'] = {**atoms.info.get('origin', {}), 'cell': 'primitive'}
    return result


def _derived(atoms, **origin):
    result = atoms.copy()
    result.calc = None
    result.set_constraint()
    result.info['origin'] = {**atoms.info.get('origin', {}), **origin}
    return result


def strained(atoms, strain):
    """``atoms`` under the homogeneous strain ``strain`` (3x3 symmetric, or 6 Voigt values xx yy zz yz xz xy)."""
    strain = np.asarray(strain, dtype=float)
    if strain.shape == (6,):
        xx, yy, zz, yz, xz, xy = strain
        strain = np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
    result = _derived(atoms, strain=np.round(strain, 6).tolist())
    result.set_cell(atoms.cell.array @ (np.eye(3) + strain), scale_atoms=True)
    return result


def rattled(atoms, temperature_k: float, seed: int):
    """``atoms`` with independent Gaussian displacements of spread ``sqrt(kB T / k)`` (see :data:`RATTLE_SPRING_EV_A2`)."""
    sigma = float(np.sqrt(KB_EV * float(temperature_k) / RATTLE_SPRING_EV_A2))
    result = _derived(atoms, temperature_k=float(temperature_k), rattle_a=round(sigma, 4), seed=int(seed))
    result.positions += np.random.default_rng(seed).normal(0.0, sigma, size=(len(atoms), 3))
    return result


#: Charge of the cell left by each vacancy when the ion, not the atom, is removed.
VACANCY_CHARGES = {'I': 1, 'Cs': -1, 'CsI': 0}


def vacancy(atoms, kind: str, seed: int = 0, charged: bool = False):
    """``atoms`` less an iodide (``I``), a Cs (``Cs``) or a nearest-neighbour Cs-I pair (``CsI``, charge-neutral).

    The site is drawn with ``seed``; the removed indices are recorded in the origin. Removing a neutral I or
    Cs atom leaves an odd number of electrons (an open shell that GFN1-xTB describes poorly); with ``charged``
    the ion is removed instead and the cell's charge (+1 for I, -1 for Cs) goes in ``info['charge']``, which
    the labelling and the charge equilibration both follow.
    """
    symbols = np.array(atoms.get_chemical_symbols())
    rng = np.random.default_rng(seed)
    if kind in ('I', 'Cs'):
        removed = [int(rng.choice(np.flatnonzero(symbols == kind)))]
    elif kind == 'CsI':
        cs = int(rng.choice(np.flatnonzero(symbols == 'Cs')))
        iodides = np.flatnonzero(symbols == 'I')
        distances = atoms.get_distances(cs, iodides, mic=True)
        removed = [cs, int(iodides[np.argmin(distances)])]
    else:
        raise ValueError(f'unknown vacancy kind {kind!r}: choose I, Cs or CsI')
    charge = VACANCY_CHARGES[kind] if charged else 0
    result = _derived(atoms, vacancy=kind, removed=removed, **({'charge': charge} if charged else {}))
    del result[removed]
    if charged:
        result.info['charge'] = charge
    return result


def short_md(atoms, calculator, temperature_k: float, steps: int, interval: int, seed: int, timestep_fs: float = 2.0):
    """Frames every ``interval`` steps of Langevin MD at ``temperature_k`` with ``calculator`` (xTB or a model)."""
    from ase import units
    from ase.constraints import FixCom
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import thermalize_momenta

    current = atoms.copy()
    current.calc = calculator
    thermalize_momenta(current, temperature_K=temperature_k, rng=np.random.default_rng(seed))
    current.set_constraint(FixCom())  # ASE's own advice over Langevin's deprecated fixcm
    dynamics = Langevin(current, timestep_fs * units.fs, temperature_K=temperature_k, friction=0.02, fixcm=False,
                        rng=np.random.default_rng(seed + 1))
    frames = []
    for block in range(steps // interval):
        dynamics.run(interval)
        frames.append(_derived(current, md_temperature_k=float(temperature_k), md_step=(block + 1) * interval,
                               timestep_fs=timestep_fs, seed=int(seed)))
    return frames


def sample(atoms, temperature_k: float, n_configurations: int, seed: int, max_strain: float = 0.02,
           vacancies=(), charged: bool = False):
    """``n_configurations`` thermally rattled configurations of ``atoms``, each also under a random strain of up to
    ``max_strain`` (uniform per Voigt component) and, cycling through ``vacancies`` (e.g. ``('I', 'Cs', 'CsI')``),
    with one vacancy (of the ion, the cell charged, with ``charged``)."""
    rng = np.random.default_rng(seed)
    result = []
    for index in range(n_configurations):
        current = atoms
        if vacancies:
            current = vacancy(current, vacancies[index % len(vacancies)], seed=int(rng.integers(1 << 30)),
                              charged=charged)
        if max_strain:
            current = strained(current, rng.uniform(-max_strain, max_strain, 6) * [1, 1, 1, 0.5, 0.5, 0.5])
        result.append(rattled(current, temperature_k, seed=int(rng.integers(1 << 30))))
    return result
