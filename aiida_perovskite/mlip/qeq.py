"""A HIP-NN potential with learned, flexible charges (charge equilibration), plain Python and PyTorch.

Energy of a configuration (eV)::

    E = sum_i e0[Z_i] + sum_i e_sr,i + 1/2 q^T C q,   q = argmin_q { sum_i chi_i q_i + 1/2 q^T (C + diag J) q }
                                                     subject to sum_i q_i = Q

- ``e0`` are per-element reference energies (least squares on the training set's compositions);
- a charged cell (``Q != 0``, an ion's vacancy) adds ``beta Q^2 M(cell)``: ``M`` is the Madelung energy of a
  lattice of unit point charges in a neutralising background (Ewald, :func:`madelung`), the background energy
  that a periodic reference code such as tblite puts in every charged cell's energy, which depends on the
  cell's size and shape and no composition fit can absorb; ``beta`` (about ``1 / epsilon``, the screening) is
  fitted with ``e0``;
- a neutral cell whose formal charges do not balance (a vacancy of a neutral atom: an iodine atom removed
  leaves an electron in the conduction band, a Cs atom a hole in the valence band) adds ``epsilon_c n_c``,
  ``n_c = |sum_i z_i - Q|`` with formal charges ``z`` (``formal_charges``): the carrier sits in a band state
  spread over the whole cell, so its energy is a constant per carrier that no local network can place on
  atoms; ``epsilon_c`` (``carrier_energy``) is fitted with ``e0`` and is exactly 0 for closed-shell data;
- ``e_sr,i`` is a HIP-NN (``hippynn.networks.Hipnn``) atomic energy (short range, ``dist_hard_max``);
- ``chi_i`` (electronegativity, eV/e) and ``J_i`` (hardness, eV/e^2, kept positive by a softplus plus a
  floor) come from a second HIP-NN through a two-output ``hippynn.layers.targets.HCharge`` head;
- ``C_ii = k_e / (sigma_i sqrt(pi)) - k_e (2 alpha / sqrt(pi) + erfc(alpha R_c) / R_c)`` and
  ``C_ij = k_e sum_images phi_DSF(r_ij)`` (the Coulomb matrix, ``A = C + diag J``): Gaussian charges of
  width ``sigma`` (per element) interacting through a damped shifted-force Coulomb kernel (Fennell and Gezelter 2006) with damping ``alpha`` and
  cut-off ``R_c``: ``phi(r) = (erfc(alpha r) - erfc(r / gamma_ij)) / r`` shifted so that it and its
  derivative vanish at ``R_c``, ``gamma_ij = sqrt(sigma_i^2 + sigma_j^2)``.

The charges are the solution of the bordered linear system ``[[A, 1], [1^T, 0]] [q, mu] = [-chi, Q]``, one per
configuration, so ``sum q = Q`` holds to machine precision (float64 throughout). Because the energy is
not the QEq functional, the charges' dependence on the positions contributes to the forces; autograd
carries it through the solve (forces are ``-dE/dr``, the sign ``GradientNode(..., sign=-1)`` gives in
hippynn's graph language).

Why damped shifted-force and not Ewald: the kernel is short-ranged (pairs within ``R_c``, O(N) of them with
a neighbour list), smooth (energy and force continuous at the cut-off, so MD conserves energy), needs no
reciprocal-space sum, and for condensed ionic systems with ``alpha R_c`` about 2 it follows Ewald energies
and forces closely (Fennell and Gezelter). Building ``A`` is O(N); the dense bordered solve is
O(N^3). Above :data:`DENSE_MAX_ATOMS` the calculator uses two preconditioned conjugate-gradient solves on the
sparse, symmetric positive-definite ``A`` instead (O(pairs) per iteration, no N x N matrix), differentiated
through their adjoint.

The short-range-only comparator is the same model with ``charges: false`` (no second network, no
electrostatics). Weights are saved without pickle: the state_dict's tensors in ``.npz`` and the
hyperparameters (with the reference energies and training record) in JSON; :func:`load` rebuilds the
modules from the JSON and loads the tensors. :func:`calculator` gives the model as an ASE calculator
(energy, forces, stress, charges) for the MLIP engine.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import pathlib
import time
import warnings

import numpy as np

os.environ.setdefault('HIPPYNN_USE_CUSTOM_KERNELS', 'False')  # pure PyTorch; no numba/triton warning
# hippynn warns (a multi-line message per call) when a pair is closer than its first sensitivity; a rattled
# or MD configuration often has one, and the model stays smooth there.
warnings.filterwarnings('ignore', message='Provided distances are underneath sensitivity range')

LOGGER = logging.getLogger(__name__)
#: Coulomb constant, eV A / e^2.
COULOMB = 14.399645
#: Hyperparameters of a model, with their values when not given.
HYPERPARAMETERS = {
    'species': [53, 55, 82],  # atomic numbers the model knows (I, Cs, Pb)
    'charges': True,  # False: the short-range-only comparator
    'n_features': 20,
    'n_sensitivities': 16,
    'dist_soft_min': 2.0,  # A
    'dist_soft_max': 5.5,
    'dist_hard_max': 6.5,  # short-range cut-off of both networks
    'n_interaction_layers': 1,
    'n_atom_layers': 2,
    'coulomb_cutoff': 10.0,  # A, R_c of the DSF kernel
    'dsf_alpha': 0.2,  # 1/A, alpha R_c = 2
    'gaussian_width': {'53': 1.5, '55': 1.5, '82': 1.5},  # A, sigma per element
    'hardness_floor': 1.0,  # eV/e^2, added to softplus(J)
    'chi_scale': 5.0,  # eV/e per unit of the charge head's first output (charges of order 0.5 e need eV)
    'total_charge': 0.0,  # of a configuration without info['charge']
    'background_screening': 0.0,  # beta of a charged cell's background term (fitted with the reference energies)
    'formal_charges': {'53': -1, '55': 1, '82': 2},  # e, per element: what makes a cell closed-shell
    'carrier_energy': 0.0,  # eV per unpaired carrier of an open-shell cell (fitted with the reference energies)
}
#: Training settings, with their values when not given.
TRAINING = {
    'epochs': 60,
    'charge_epochs': 40,  # first stage: the charge network alone on the charges (4G-HDNNP order)
    'freeze_charges': True,  # second stage: only the short-range network learns (as 4G-HDNNPs are trained)
    'learning_rate': 5e-3,
    'charge_learning_rate': 1e-2,  # of the first stage
    'batch_size': 1,
    'seed': 0,
    # stress 20: with weight 1 a 0.2 GPa stress error cost a twentieth of a 0.1 eV/A force error and the cool-trained
    # models did not learn the cell (docs: method/qeq, 'Trained on the reference's own MD')
    'weights': {'energy': 1.0, 'forces': 1.0, 'stress': 20.0, 'charges': 1.0},
    # loss = sum_k weight_k * mean squared error_k / scale_k^2
    'scales': {'energy': 0.01, 'forces': 0.1, 'stress': 0.005, 'charges': 0.02},  # eV/atom, eV/A, eV/A^3, e
}
WEIGHTS = 'weights.npz'
HYPER = 'model.json'


def _torch():
    import torch

    return torch


def validate(hyperparameters: dict | None) -> dict:
    """``hyperparameters`` over :data:`HYPERPARAMETERS` (plus ``reference_energies``); ``ValueError`` if unknown."""
    given = dict(hyperparameters or {})
    extra = {'reference_energies', 'training'}
    unknown = sorted(set(given) - set(HYPERPARAMETERS) - extra)
    if unknown:
        raise ValueError(f'unknown hyperparameter(s) {unknown}; known: {sorted(HYPERPARAMETERS)}')
    merged = {**HYPERPARAMETERS, **given}
    missing = [z for z in merged['species'] if str(z) not in merged['gaussian_width']]
    if missing:
        raise ValueError(f'gaussian_width has no width for atomic number(s) {missing}')
    missing = [z for z in merged['species'] if str(z) not in merged['formal_charges']]
    if missing:
        raise ValueError(f'formal_charges has no formal charge for atomic number(s) {missing}')
    return merged


def validate_training(settings: dict | None) -> dict:
    given = dict(settings or {})
    unknown = sorted(set(given) - set(TRAINING))
    if unknown:
        raise ValueError(f'unknown training setting(s) {unknown}; known: {sorted(TRAINING)}')
    merged = {**TRAINING, **given}
    merged['weights'] = {**TRAINING['weights'], **given.get('weights', {})}
    merged['scales'] = {**TRAINING['scales'], **given.get('scales', {})}
    return merged


#: Above this many atoms the calculator solves the charge equilibration by conjugate gradients (O(pairs) per
#: iteration, no N x N matrix) instead of the dense bordered solve (O(N^3), N^2 memory).
DENSE_MAX_ATOMS = 1000
#: Relative residual at which the conjugate-gradient solve stops.
CG_TOLERANCE = 1e-12


def _conjugate_gradient(matvec, diagonal, rhs, tolerance: float = CG_TOLERANCE, max_iterations: int = 2000):
    """``x`` with ``A x = rhs`` for a symmetric positive-definite ``A`` given by ``matvec``, Jacobi-preconditioned
    (plain tensors, no autograd). ``RuntimeError`` if it does not converge: ``A`` is then not positive definite
    (a hardness too small for the Coulomb kernel), which the dense solve would hide."""
    torch = _torch()
    x = rhs / diagonal
    residual = rhs - matvec(x)
    direction = residual / diagonal
    rz = residual @ direction
    scale = float(torch.linalg.vector_norm(rhs)) or 1.0
    for _ in range(max_iterations):
        if float(torch.linalg.vector_norm(residual)) <= tolerance * scale:
            return x
        product = matvec(direction)
        curvature = direction @ product
        if not float(curvature) > 0:
            raise RuntimeError('the charge-equilibration matrix is not positive definite: conjugate gradients '
                               'cannot solve it (use the dense solve)')
        step = rz / curvature
        x = x + step * direction
        residual = residual - step * product
        preconditioned = residual / diagonal
        rz, previous = residual @ preconditioned, rz
        direction = preconditioned + (rz / previous) * direction
    raise RuntimeError(f'conjugate gradients did not reach a relative residual of {tolerance:g} in '
                       f'{max_iterations} iterations')


def _pair_product(values, first, second, x):
    """``sum over pairs (i, j) of v e_i x_j``: the off-diagonal part of ``A x`` (both directions of every pair are
    listed, as ASE's neighbour list gives them)."""
    return _torch().zeros_like(x).index_add(0, first, values * x[second])


@functools.cache
def _sparse_solve_class():
    """``A^-1 b`` for ``A = diag(d) + sum over pairs (i, j) of v e_i e_j^T`` (symmetric), differentiable once in
    ``v``, ``d`` and ``b`` (the adjoint is another solve with the same ``A``): enough for forces and stress, not
    for training on forces (which uses the dense solve). One class, made on first use (torch is imported late)."""
    torch = _torch()

    def solve(values, first, second, diagonal, rhs):
        return _conjugate_gradient(lambda x: diagonal * x + _pair_product(values, first, second, x), diagonal, rhs)

    class SparseSolve(torch.autograd.Function):
        @staticmethod
        def forward(ctx, values, first, second, diagonal, rhs):
            with torch.no_grad():
                solution = solve(values, first, second, diagonal, rhs)
            ctx.save_for_backward(values, first, second, diagonal, solution)
            return solution

        @staticmethod
        @torch.autograd.function.once_differentiable
        def backward(ctx, grad):
            values, first, second, diagonal, solution = ctx.saved_tensors
            adjoint = solve(values, first, second, diagonal, grad)
            return -adjoint[first] * solution[second], None, None, -adjoint * solution, adjoint

    return SparseSolve


def build(hyperparameters: dict):
    """The :class:`QEqModel` of ``hyperparameters`` (float64, untrained unless weights are loaded)."""
    return _model_class()(validate(hyperparameters)).double()


def _model_class():
    torch = _torch()
    from hippynn.layers.targets import HCharge
    from hippynn.networks.hipnn import Hipnn

    class QEqModel(torch.nn.Module):
        """HIP-NN short-range energy plus, with ``charges``, a charge-equilibration layer (see the module)."""

        def __init__(self, hyper: dict):
            super().__init__()
            self.hyper = hyper
            species = [0, *hyper['species']]
            network = {key: hyper[key] for key in ('n_features', 'n_sensitivities', 'dist_soft_min', 'dist_soft_max',
                                                   'dist_hard_max', 'n_atom_layers', 'n_interaction_layers')}
            self.energy_net = Hipnn(possible_species=species, **network)
            self.energy_head = HCharge(self.energy_net.feature_sizes, n_target=1)
            reference = hyper.get('reference_energies') or {}
            self.register_buffer('reference', torch.tensor([float(reference.get(str(z), 0.0))
                                                            for z in hyper['species']], dtype=torch.float64))
            if hyper['charges']:
                self.charge_net = Hipnn(possible_species=species, **network)
                self.charge_head = HCharge(self.charge_net.feature_sizes, n_target=2)
                self.register_buffer('sigma', torch.tensor([float(hyper['gaussian_width'][str(z)])
                                                            for z in hyper['species']], dtype=torch.float64))

        def forward(self, graph: dict, strain=None):
            """Energy (eV), charges (e or None) and the strained positions of one configuration ``graph``
            (from :func:`graph_of`); ``strain`` (3x3, zero) makes the energy differentiable for the stress."""
            positions, cell = graph['positions'], graph['cell']
            if strain is not None:
                deformation = torch.eye(3, dtype=positions.dtype) + (strain + strain.T) / 2
                positions, cell = positions @ deformation, cell @ deformation
            first, second = graph['first'], graph['second']
            vectors = positions[second] - positions[first] + graph['shifts'] @ cell
            distances = vectors.norm(dim=1)
            short = distances < self.hyper['dist_hard_max']
            onehot, element = graph['onehot'], graph['element']
            features = self.energy_net(onehot, first[short], second[short], distances[short])
            atomic = self.energy_head(features)[0].squeeze(1)
            energy = atomic.sum() + self.reference[element].sum()
            total_charge = float(graph.get('total_charge', self.hyper['total_charge']))
            carriers = float(graph.get('carriers', 0.0))
            if carriers and self.hyper.get('carrier_energy'):
                energy = energy + float(self.hyper['carrier_energy']) * carriers
            if total_charge and self.hyper.get('background_screening'):
                energy = energy + float(self.hyper['background_screening']) * total_charge ** 2 * madelung(cell)
            charges = None
            if self.hyper['charges']:
                features = self.charge_net(onehot, first[short], second[short], distances[short])
                raw = self.charge_head(features)[0]
                chi = raw[:, 0] * float(self.hyper['chi_scale'])
                hardness = torch.nn.functional.softplus(raw[:, 1] + 3.0) + self.hyper['hardness_floor']
                charges, electrostatic = self.equilibrate(chi, hardness, element, first, second, distances,
                                                          total_charge, graph.get('solver', 'dense'))
                energy = energy + electrostatic
            return energy, charges, positions

        def equilibrate(self, chi, hardness, element, first, second, distances, total_charge, solver='dense'):
            """Charges with ``sum q = total_charge`` from the bordered solve (``solver`` 'dense') or two
            conjugate-gradient solves ('cg', the same charges without an N x N matrix), and their Coulomb
            energy."""
            cutoff, alpha = float(self.hyper['coulomb_cutoff']), float(self.hyper['dsf_alpha'])
            n = chi.shape[0]
            sigma = self.sigma[element]
            within = distances < cutoff
            i, j, r = first[within], second[within], distances[within]
            gamma = torch.sqrt(sigma[i] ** 2 + sigma[j] ** 2)
            erfc = torch.special.erfc

            def kernel(x):
                return (erfc(alpha * x) - erfc(x / gamma)) / x

            rc = torch.full_like(r, cutoff)
            slope = ((-2 * alpha / math.sqrt(math.pi) * torch.exp(-(alpha * rc) ** 2)
                      + 2 / (gamma * math.sqrt(math.pi)) * torch.exp(-(rc / gamma) ** 2)) / rc - kernel(rc) / rc)
            pair = COULOMB * (kernel(r) - kernel(rc) - slope * (r - rc))
            self_term = COULOMB * (1 / (sigma * math.sqrt(math.pi)) - 2 * alpha / math.sqrt(math.pi)
                                   - math.erfc(alpha * cutoff) / cutoff)
            if solver == 'cg':  # no N x N matrix: q = y - z (sum y - Q) / sum z with A y = -chi, A z = 1
                solve = _sparse_solve_class().apply
                diagonal = hardness + self_term
                y = solve(pair, i, j, diagonal, -chi)
                z = solve(pair, i, j, diagonal, torch.ones_like(chi))
                charges = y - z * (y.sum() - float(total_charge)) / z.sum()
                return charges, 0.5 * charges @ (_pair_product(pair, i, j, charges) + self_term * charges)
            matrix = torch.zeros((n, n), dtype=chi.dtype).index_put((i, j), pair, accumulate=True)
            matrix = matrix + torch.diag(hardness + self_term)
            ones = torch.ones((n, 1), dtype=chi.dtype)
            bordered = torch.cat([torch.cat([matrix, ones], dim=1),
                                  torch.cat([ones.T, torch.zeros((1, 1), dtype=chi.dtype)], dim=1)], dim=0)
            rhs = torch.cat([-chi, torch.tensor([float(total_charge)], dtype=chi.dtype)])
            charges = torch.linalg.solve(bordered, rhs)[:n]
            # The energy added to the short-range one is the Coulomb energy of the charges (the QEq functional
            # less its chi q + J q^2 / 2 terms, as in 4G-HDNNPs): the charge network's chi carries no energy of its own.
            coulomb = matrix - torch.diag(hardness)
            return charges, 0.5 * charges @ (coulomb @ charges)

    return QEqModel


def pair_cutoff(hyper: dict) -> float:
    """The longest distance (A) at which a pair enters the model: the network's or the Coulomb cut-off."""
    return max(float(hyper['dist_hard_max']), float(hyper['coulomb_cutoff']) if hyper['charges'] else 0.0)


def graph_of(atoms, hyper: dict, pairs=None) -> dict:
    """The tensors of one configuration: one-hot species, positions, cell and its pairs within both cut-offs.

    ``pairs`` (``first, second, shifts`` as ASE's ``neighbor_list('ijS')`` gives them) may be a superset (a
    Verlet list with a skin): the model drops every pair beyond its cut-offs, so the result is the same."""
    torch = _torch()
    from ase.neighborlist import neighbor_list

    species = list(hyper['species'])
    numbers = atoms.get_atomic_numbers()
    unknown = sorted(set(int(z) for z in numbers) - set(species))
    if unknown:
        raise ValueError(f'the model knows atomic numbers {species}, not {unknown}')
    element = np.array([species.index(int(z)) for z in numbers])
    first, second, shifts = pairs if pairs is not None else neighbor_list('ijS', atoms, pair_cutoff(hyper))
    onehot = np.zeros((len(atoms), len(species)))
    onehot[np.arange(len(atoms)), element] = 1.0
    return {
        'onehot': torch.tensor(onehot, dtype=torch.float64),
        'element': torch.tensor(element),
        'positions': torch.tensor(atoms.positions, dtype=torch.float64),
        'cell': torch.tensor(atoms.cell.array, dtype=torch.float64),
        'first': torch.tensor(first), 'second': torch.tensor(second),
        'shifts': torch.tensor(shifts, dtype=torch.float64),
        'volume': float(atoms.get_volume()),
        # A charged cell (a vacancy of an ion) says so in info['charge']; otherwise the model's total charge.
        'total_charge': float(atoms.info.get('charge', hyper['total_charge'])),
        'carriers': carriers(atoms, hyper),
    }


def carriers(atoms, hyper: dict | None = None) -> float:
    """Unpaired carriers of a cell: ``|sum of formal charges - total charge|`` (0 for a closed shell, 1 for a
    neutral I or Cs vacancy, 0 for a charged one or a CsI pair)."""
    hyper = hyper or HYPERPARAMETERS
    formal = hyper.get('formal_charges') or HYPERPARAMETERS['formal_charges']
    total = float(atoms.info.get('charge', hyper.get('total_charge', 0.0)))
    return abs(float(sum(formal.get(str(int(z)), 0) for z in atoms.get_atomic_numbers())) - total)


def predict_graph(model, graph: dict, create_graph: bool = False) -> dict:
    """Energy, forces (-dE/dr), stress (dE/d strain / V, ASE's sign, Voigt) and charges of one configuration."""
    torch = _torch()
    positions = graph['positions'].clone().requires_grad_(True)
    strain = torch.zeros((3, 3), dtype=torch.float64, requires_grad=True)
    energy, charges, _ = model({**graph, 'positions': positions}, strain=strain)
    gradient, virial = torch.autograd.grad(energy, (positions, strain), create_graph=create_graph)
    stress = virial / graph['volume']
    voigt = torch.stack([stress[0, 0], stress[1, 1], stress[2, 2], stress[1, 2], stress[0, 2], stress[0, 1]])
    return {'energy': energy, 'forces': -gradient, 'stress': voigt, 'charges': charges}


def _nonzero_grid(counts):
    """Every integer triple with ``|n_i| <= counts[i]`` except zero, as a float64 tensor (one row each)."""
    torch = _torch()
    axes = [np.arange(-int(n), int(n) + 1) for n in counts]
    grid = np.stack(np.meshgrid(*axes, indexing='ij'), -1).reshape(-1, 3)
    return torch.tensor(grid[(grid != 0).any(axis=1)], dtype=torch.float64)


def madelung(cell, accuracy: float = 1e-10):
    """Ewald energy (eV) per cell of a lattice of unit point charges in a neutralising uniform background.

    ``cell`` is a 3x3 torch tensor (rows are the lattice vectors, A), so the result is differentiable in it
    (a charged cell's background term then has its stress). Negative, and ``-k_e alpha_M / (2 L)`` for a cubic
    cell of edge ``L`` (``alpha_M = 2.8373`` for simple cubic).
    """
    torch = _torch()
    cell = cell.to(torch.float64)
    volume = torch.abs(torch.linalg.det(cell))
    eta = math.sqrt(math.pi) / float(volume.detach()) ** (1 / 3)  # splits the work evenly between the two sums
    reach = math.sqrt(-math.log(accuracy))
    reciprocal = 2 * math.pi * torch.linalg.inv(cell).T
    # Enough images in each direction that the neglected terms are below ``accuracy``.
    heights = 1 / np.linalg.norm(np.linalg.inv(cell.detach().numpy()), axis=0)  # plane spacings of the lattice
    lengths = (_nonzero_grid(np.ceil(reach / eta / heights)) @ cell).norm(dim=1)
    real = torch.special.erfc(eta * lengths) / lengths
    spacings = 2 * math.pi / np.linalg.norm(cell.detach().numpy(), axis=1)
    g2 = ((_nonzero_grid(np.ceil(2 * eta * reach / spacings)) @ reciprocal) ** 2).sum(dim=1)
    recip = 4 * math.pi / volume * torch.exp(-g2 / (4 * eta ** 2)) / g2
    return 0.5 * COULOMB * (real.sum() + recip.sum() - 2 * eta / math.sqrt(math.pi) - math.pi / (volume * eta ** 2))


def _energy_design(configurations, species, hyper: dict | None = None) -> np.ndarray:
    """Columns of the reference-energy fit: each element's count, the unpaired carriers (:func:`carriers`),
    and ``Q^2 M(cell)`` (zero for neutral cells)."""
    torch = _torch()
    rows = []
    for atoms in configurations:
        charge = float(atoms.info.get('charge', 0.0))
        background = 0.0
        if charge:
            with torch.no_grad():
                background = charge ** 2 * float(madelung(torch.tensor(atoms.cell.array)))
        rows.append([*(np.sum(atoms.get_atomic_numbers() == z) for z in species), carriers(atoms, hyper), background])
    return np.array(rows, float)


def reference_energies(configurations, species, hyper: dict | None = None) -> dict:
    """Per-element energies (eV) that best fit the configurations' energies from their compositions, the energy
    per unpaired carrier (key ``'carrier_energy'``; 0 without open-shell cells), and for charged cells the
    background term's ``beta`` (key ``'background_screening'``; 0 without charged cells)."""
    design = _energy_design(configurations, species, hyper)
    energies = np.array([atoms.info['energy'] for atoms in configurations])
    solution = np.linalg.lstsq(design, energies, rcond=None)[0]
    return {**{str(z): float(value) for z, value in zip(species, solution)}, 'carrier_energy': float(solution[-2]),
            'background_screening': float(solution[-1])}


def _targets(atoms) -> dict:
    torch = _torch()
    return {'energy': float(atoms.info['energy']), 'n': len(atoms),
            'forces': torch.tensor(np.asarray(atoms.arrays['forces']), dtype=torch.float64),
            'stress': torch.tensor(np.asarray(atoms.info['stress'], dtype=float), dtype=torch.float64),
            'charges': torch.tensor(np.asarray(atoms.arrays['charges']), dtype=torch.float64)}


def _loss(model, graph, target, settings, stage):
    weights, scales = settings['weights'], settings['scales']
    if stage == 'charges':
        _, charges, _ = model(graph)
        return weights['charges'] * ((charges - target['charges']) ** 2).mean() / scales['charges'] ** 2
    result = predict_graph(model, graph, create_graph=True)
    loss = weights['energy'] * ((result['energy'] - target['energy']) / target['n']) ** 2 / scales['energy'] ** 2
    loss = loss + weights['forces'] * ((result['forces'] - target['forces']) ** 2).mean() / scales['forces'] ** 2
    if weights['stress']:
        loss = loss + weights['stress'] * ((result['stress'] - target['stress']) ** 2).mean() / scales['stress'] ** 2
    if result['charges'] is not None and weights['charges']:
        loss = loss + weights['charges'] * ((result['charges'] - target['charges']) ** 2).mean() / scales['charges'] ** 2
    return loss


def _refit_reference(model, configurations, data) -> None:
    """Shift the per-element reference energies (and the background term's ``beta``) so the model's energies
    fit the labels on average (after the charge stage the electrostatic energy is eV per atom; the networks
    should learn only what is left)."""
    torch = _torch()
    species = model.hyper['species']
    design = _energy_design(configurations, species, model.hyper)
    with torch.no_grad():
        residual = np.array([target['energy'] - float(model(graph)[0]) for graph, target in data])
    shift = np.linalg.lstsq(design, residual, rcond=None)[0]
    model.reference += torch.tensor(shift[:-2], dtype=torch.float64)
    model.hyper['reference_energies'] = {str(z): float(value) for z, value in zip(species, model.reference.tolist())}
    model.hyper['carrier_energy'] = float(model.hyper.get('carrier_energy', 0.0)) + float(shift[-2])
    model.hyper['background_screening'] = float(model.hyper.get('background_screening', 0.0)) + float(shift[-1])


def train(configurations, hyperparameters: dict | None = None, settings: dict | None = None, progress=None):
    """A model trained on labelled ``configurations`` (:func:`aiida_perovskite.mlip.xtb.label_all`'s).

    With charges, a first stage trains the charge network alone on the charges (``charge_epochs``), then the
    short-range network (every weight unless ``freeze_charges``) on energies, forces, stress (and charges). ``progress(stage, epoch, loss)``
    after each epoch. Returns ``(model, history)``: the mean loss of each epoch of each stage.
    """
    torch = _torch()
    settings = validate_training(settings)
    hyper = validate(hyperparameters)
    if not configurations:
        raise ValueError('no labelled configurations to train on')
    fitted = reference_energies(configurations, hyper['species'], hyper)
    hyper['background_screening'] = fitted.pop('background_screening')
    hyper['carrier_energy'] = fitted.pop('carrier_energy')
    hyper['reference_energies'] = fitted
    torch.manual_seed(int(settings['seed']))
    model = build(hyper)
    data = [(graph_of(atoms, hyper), _targets(atoms)) for atoms in configurations]
    rng = np.random.default_rng(int(settings['seed']))
    history = {'charges': [], 'all': []}
    stages = [('charges', int(settings['charge_epochs']))] if hyper['charges'] and settings['charge_epochs'] else []
    stages.append(('all', int(settings['epochs'])))
    started = time.perf_counter()
    for stage, epochs in stages:
        if stage == 'all':
            _refit_reference(model, configurations, data)
        charge_parameters = (list(model.charge_net.parameters()) + list(model.charge_head.parameters())
                             if hyper['charges'] else [])
        if stage == 'charges':
            parameters = charge_parameters
        else:
            frozen = {id(p) for p in charge_parameters} if settings['freeze_charges'] else set()
            parameters = [p for p in model.parameters() if id(p) not in frozen]
        rate = float(settings['charge_learning_rate' if stage == 'charges' else 'learning_rate'])
        optimiser = torch.optim.Adam(parameters, lr=rate)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=max(epochs, 1), eta_min=0.05 * rate)
        for epoch in range(epochs):
            order = rng.permutation(len(data))
            total = 0.0
            for start in range(0, len(order), int(settings['batch_size'])):
                batch = order[start:start + int(settings['batch_size'])]
                optimiser.zero_grad()
                loss = sum(_loss(model, *data[index], settings, stage) for index in batch) / len(batch)
                loss.backward()
                optimiser.step()
                total += float(loss.detach()) * len(batch)
            scheduler.step()
            history[stage].append(total / len(data))
            if progress is not None:
                progress(stage, epoch + 1, epochs, history[stage][-1])
            if (epoch + 1) % max(1, epochs // 10) == 0 or epoch + 1 == epochs:
                LOGGER.info('%s stage: epoch %d/%d, loss %.3f', stage, epoch + 1, epochs, history[stage][-1])
    model.hyper['training'] = {**settings, 'n_configurations': len(configurations),
                               'seconds': time.perf_counter() - started, 'final_loss': (history['all'] or history['charges'] or [None])[-1]}
    return model.eval(), history


def predict(model, configurations) -> list[dict]:
    """Energy (eV), forces, stress and charges (NumPy) of each configuration."""
    results = []
    for atoms in configurations:
        result = predict_graph(model, graph_of(atoms, model.hyper))
        results.append({key: (None if value is None else value.detach().numpy().copy()) for key, value in result.items()})
    return results


def errors(model, configurations) -> dict:
    """Mean absolute errors against the configurations' labels: energy per atom (eV), forces (eV/A, per
    component), stress (eV/A^3) and charges (e; None for a short-range-only model)."""
    predicted = predict(model, configurations)
    energy = [abs(float(p['energy']) - a.info['energy']) / len(a) for p, a in zip(predicted, configurations)]
    forces = np.concatenate([np.abs(p['forces'] - a.arrays['forces']).ravel() for p, a in zip(predicted, configurations)])
    stress = np.concatenate([np.abs(p['stress'] - a.info['stress']) for p, a in zip(predicted, configurations)])
    charges = None
    if model.hyper['charges']:
        charges = float(np.mean(np.concatenate([np.abs(p['charges'] - a.arrays['charges'])
                                                for p, a in zip(predicted, configurations)])))
    return {'energy_mae_ev_atom': float(np.mean(energy)), 'forces_mae_ev_a': float(np.mean(forces)),
            'stress_mae_ev_a3': float(np.mean(stress)), 'charges_mae_e': charges, 'n_configurations': len(configurations)}


def baselines(training, test) -> dict:
    """Trivial baselines on ``test`` from ``training``: mean energy per atom, the composition fit of the energy
    (with the carrier and background terms of open-shell and charged cells), zero forces, the mean stress, and per-element mean charges."""
    mean = np.mean([a.info['energy'] / len(a) for a in training])
    species = sorted({int(z) for a in training for z in a.get_atomic_numbers()})
    reference = reference_energies(training, species)
    coefficients = np.array([reference[str(z)] for z in species] + [reference['carrier_energy'],
                                                                    reference['background_screening']])
    composition = [abs(float(row @ coefficients) - a.info['energy']) / len(a)
                   for row, a in zip(_energy_design(test, species), test)]
    charge_mean = {z: np.mean(np.concatenate([a.arrays['charges'][a.get_atomic_numbers() == z] for a in training]))
                   for z in species}
    charges = np.concatenate([np.abs(a.arrays['charges'] - [charge_mean[int(z)] for z in a.get_atomic_numbers()])
                              for a in test])
    stress = np.mean([a.info['stress'] for a in training], axis=0)
    return {
        'energy_mean_mae_ev_atom': float(np.mean([abs(a.info['energy'] / len(a) - mean) for a in test])),
        'energy_composition_mae_ev_atom': float(np.mean(composition)),
        'forces_zero_mae_ev_a': float(np.mean(np.concatenate([np.abs(a.arrays['forces']).ravel() for a in test]))),
        'stress_mean_mae_ev_a3': float(np.mean([np.abs(a.info['stress'] - stress) for a in test])),
        'charges_element_mean_mae_e': float(np.mean(charges)),
    }


def save(model, folder) -> dict:
    """The model's weights (``weights.npz``, plain tensors) and hyperparameters (``model.json``) in ``folder``;
    returns the two files' names."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {key: value.detach().cpu().numpy() for key, value in model.state_dict().items()}
    np.savez(folder / WEIGHTS, **state)
    (folder / HYPER).write_text(json.dumps(model.hyper, indent=1, sort_keys=True))
    return {'weights': WEIGHTS, 'hyperparameters': HYPER}


def load(folder):
    """The model saved in ``folder`` by :func:`save`, rebuilt from its JSON (never unpickled)."""
    torch = _torch()
    folder = pathlib.Path(folder)
    for name in (WEIGHTS, HYPER):
        if not (folder / name).is_file():
            raise FileNotFoundError(f'{folder / name} is missing: not a saved QEq potential')
    try:
        hyper = json.loads((folder / HYPER).read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f'{folder / HYPER} is not valid JSON: {error}') from None
    model = build(hyper)
    with np.load(folder / WEIGHTS, allow_pickle=False) as arrays:
        state = {key: torch.from_numpy(arrays[key].copy()) for key in arrays.files}
    model.load_state_dict(state, strict=True)
    model.hyper = hyper
    return model.eval()


def _calculator_class():
    from ase.calculators.calculator import Calculator, all_changes

    class QEqCalculator(Calculator):
        """A :mod:`aiida_perovskite.mlip.qeq` model as an ASE calculator: energy, forces, stress, charges."""

        implemented_properties = ['energy', 'free_energy', 'forces', 'stress', 'charges']

        def __init__(self, model, skin: float = 1.0, solver: str = 'auto', **kwargs):
            super().__init__(**kwargs)
            if solver not in ('auto', 'dense', 'cg'):
                raise ValueError(f"solver must be 'auto', 'dense' or 'cg', not {solver!r}")
            self.model = model
            self.skin = float(skin)
            self.solver = solver
            self.rebuilds = 0
            self._pairs = self._reference = None

        def _verlet_pairs(self, atoms):
            """Pairs within the cut-off plus ``skin``, rebuilt only when some pair may have crossed into the cut-off
            since the last build: twice the largest displacement plus what the cell's change moves the furthest
            image by exceeds the skin (or the atoms, their order or the periodicity changed)."""
            from ase.neighborlist import neighbor_list

            positions, cell = atoms.positions, atoms.cell.array
            if self._reference is not None:
                old_positions, old_cell, numbers, pbc, reach = self._reference
                if (len(positions) == len(old_positions) and np.array_equal(numbers, atoms.numbers)
                        and np.array_equal(pbc, atoms.pbc)):
                    moved = float(np.linalg.norm(positions - old_positions, axis=1).max(initial=0.0))
                    stretched = float(reach @ np.linalg.norm(cell - old_cell, axis=1))
                    if 2 * moved + stretched <= self.skin:
                        return self._pairs
            self._pairs = neighbor_list('ijS', atoms, pair_cutoff(self.model.hyper) + self.skin)
            # An image further than one more cell than any listed pair's cannot come within the cut-off first.
            reach = np.abs(self._pairs[2]).max(axis=0, initial=0) + 1.0
            self._reference = (positions.copy(), cell.copy(), atoms.numbers.copy(), atoms.pbc.copy(), reach)
            self.rebuilds += 1
            return self._pairs

        def calculate(self, atoms=None, properties=('energy',), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            pairs = self._verlet_pairs(self.atoms) if self.skin > 0 else None
            graph = graph_of(self.atoms, self.model.hyper, pairs=pairs)
            solver = self.solver if self.solver != 'auto' else 'cg' if len(self.atoms) > DENSE_MAX_ATOMS else 'dense'
            result = predict_graph(self.model, {**graph, 'solver': solver})
            energy = float(result['energy'].detach())
            self.results = {'energy': energy, 'free_energy': energy,
                            'forces': result['forces'].detach().numpy().copy(),
                            'stress': result['stress'].detach().numpy().copy()}
            if result['charges'] is not None:
                self.results['charges'] = result['charges'].detach().numpy().copy()

    return QEqCalculator


def calculator(model_or_folder, skin: float = 1.0, solver: str = 'auto'):
    """The ASE calculator of a model, or of the model saved in a folder. Its pair list is a Verlet list with
    ``skin`` (A; 0: a new neighbour list at every call), rebuilt only when atoms or the cell moved enough: the
    same numbers, without ASE's neighbour search (most of a call's time) at every MD or relaxation step.
    ``solver``: the charge equilibration's, 'dense', 'cg' (conjugate gradients) or 'auto' (cg above
    :data:`DENSE_MAX_ATOMS` atoms)."""
    model = model_or_folder if hasattr(model_or_folder, 'hyper') else load(model_or_folder)
    return _calculator_class()(model, skin=skin, solver=solver)
