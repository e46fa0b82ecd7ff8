"""Block-averaged standard errors against series whose true error is known, and the fluctuation estimate."""

import numpy as np
import pytest

from aiida_perovskite.analysis import ladder_targets
from aiida_perovskite.simulation.blocking import (
    ATM_A3_IN_KCAL_MOL,
    BOLTZMANN_KCAL_MOL,
    block_average,
    fluctuation_heat_capacity,
    inverse_variance_mean,
    slope_stderr,
)
from aiida_perovskite.simulation.summary import THERMO_COLUMNS, summarise_temperature


def ar1(n: int, phi: float, seed: int) -> np.ndarray:
    """x_t = phi x_(t-1) + e_t with unit Gaussian e_t, started in its stationary distribution."""
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(n)
    x = np.empty(n)
    x[0] = noise[0] / np.sqrt(1 - phi**2)
    for index in range(1, n):
        x[index] = phi * x[index - 1] + noise[index]
    return x


def exact_stderr(n: int, phi: float) -> float:
    """The standard error of the mean of n AR(1) samples: var/n (1 + 2 sum_k (1 - k/n) phi^k)."""
    lags = np.arange(1, n)
    return float(np.sqrt(1 / (1 - phi**2) / n * (1 + 2 * np.sum((1 - lags / n) * phi**lags))))


@pytest.mark.parametrize(('phi', 'n'), [(0.9, 8192), (0.5, 4096), (0.0, 4096)])
def test_block_stderr_matches_the_exact_one_of_ar1_series(phi, n):
    exact = exact_stderr(n, phi)
    ratios = [block_average(ar1(n, phi, seed)).stderr / exact for seed in range(8)]
    naive = [block_average(ar1(n, phi, seed)).naive_stderr / exact for seed in range(8)]
    # Each estimate within 20% of the exact error on average and never far off; the naive one is low by
    # sqrt((1 - phi) / (1 + phi)): 0.23 for phi = 0.9, 0.58 for 0.5.
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.2), ratios
    assert min(ratios) > 0.7 and max(ratios) < 1.35, ratios
    assert np.mean(naive) == pytest.approx(np.sqrt((1 - phi) / (1 + phi)), rel=0.1)
    if phi >= 0.5:
        assert np.mean(naive) < 0.65 * np.mean(ratios)


def test_block_estimate_reports_inefficiency_and_short_series():
    estimate = block_average(ar1(8192, 0.9, 1))
    assert estimate.converged and estimate.block_size >= 16
    assert estimate.inefficiency == pytest.approx(19.0, rel=0.35)  # (1 + phi) / (1 - phi)
    short = block_average([1.0, 2.0, 3.0])
    assert np.isnan(short.stderr) and not short.converged
    assert block_average(np.full(100, 2.5)).stderr == 0.0


def test_fluctuation_estimate_of_independent_gaussian_energies():
    """U with variance s^2 at temperature T: d<U>/dT = s^2 / (k T^2) by construction (N = 100 atoms)."""
    rng = np.random.default_rng(0)
    temperature, atoms, sigma = 300.0, 100, 4.0
    energy = -5000.0 + sigma * rng.standard_normal(20000)
    volume = np.full(energy.size, 1000.0)  # a fixed cell: H = U + const
    estimate = fluctuation_heat_capacity(energy, volume, temperature, atoms, pressure=1.0)
    expected = sigma**2 / (BOLTZMANN_KCAL_MOL * temperature**2) / atoms
    # The error of a variance from n independent samples: sqrt(2 / n) of it.
    assert estimate['cp_fluctuation_sem'] == pytest.approx(expected * np.sqrt(2 / energy.size), rel=0.1)
    assert abs(estimate['cp_fluctuation'] - expected) < 4 * estimate['cp_fluctuation_sem']
    assert ATM_A3_IN_KCAL_MOL == pytest.approx(1.4584e-5, rel=1e-3)


def test_slope_error_propagates_the_means_errors():
    temperatures = np.array([200.0, 250.0, 300.0, 350.0])
    errors = np.array([0.01, 0.02, 0.01, 0.02])
    rng = np.random.default_rng(2)
    slopes = [np.polyfit(temperatures, 0.003 * temperatures + errors * rng.standard_normal(4), 1)[0]
              for _ in range(4000)]
    assert slope_stderr(temperatures, errors) == pytest.approx(np.std(slopes), rel=0.05)
    assert inverse_variance_mean([1.0, 3.0], [1.0, 1.0]) == pytest.approx((2.0, 1 / np.sqrt(2)))


def test_summaries_carry_block_errors_and_targets_propagate_them():
    """A synthetic ladder whose energies are AR(1) about a line of slope 0.003 kcal/mol/K per atom."""
    atoms, summaries = 50, []
    for index, temperature in enumerate((200.0, 250.0, 300.0, 350.0)):
        n = 4000
        thermo = {name: np.zeros(n) for name in THERMO_COLUMNS}
        thermo['step'] = np.arange(1, n + 1) * 10.0
        thermo['pe'] = atoms * (0.003 * temperature + 0.01 * ar1(n, 0.8, index))
        thermo['vol'] = np.full(n, 20.0 * atoms)
        summaries.append({'temperature': temperature,
                          **summarise_temperature(thermo, atoms, 0, 40000, 0, temperature=temperature)})
    summary = summaries[0]
    assert summary['pe_per_atom_sem'] > 2 * summary['pe_per_atom_sem_naive']  # AR(1) with phi 0.8: 3x
    targets = ladder_targets(summaries)
    assert targets['cp_u_stderr_method'] == 'block_averaged_sampling'
    assert targets['cp_u_stderr'] == pytest.approx(slope_stderr([200, 250, 300, 350],
                                                                [s['pe_per_atom_sem'] for s in summaries]))
    assert abs(targets['cp_u'] - 0.003) < 4 * targets['cp_u_stderr']
    assert len(targets['cp_fluctuation']) == 4 and targets['cp_u_fluctuation'] > 0
    assert targets['cp_u_combined_stderr'] <= min(targets['cp_u_stderr'], targets['cp_u_fluctuation_stderr'])
    # Summaries without block errors (stored before them) keep the fit's scatter as the error.
    old = [{key: value for key, value in s.items() if not key.startswith(('pe_per_atom_sem', 'cp_fluct'))}
           for s in summaries]
    assert ladder_targets(old)['cp_u_stderr_method'] == 'fit_residuals'
    assert ladder_targets(old)['cp_u_stderr'] == ladder_targets(old)['cp_u_fit_stderr'] > 0


def test_energy_drift_tells_a_relaxing_series_from_a_stationary_one():
    """Stationary AR(1) noise stays within 3 errors of no drift; the same noise on an exponential settling of
    0.1 kcal/mol per atom (a cell relaxing through the first quarter of the run) is flagged, with its size."""
    from aiida_perovskite.simulation.summary import energy_drift

    n, steps = 400, np.arange(400)
    for seed in range(5):
        stationary = energy_drift(0.01 * ar1(n, 0.8, seed))
        assert abs(stationary['pe_per_atom_drift']) < 3 * stationary['pe_per_atom_drift_sem']
    relaxing = energy_drift(0.01 * ar1(n, 0.8, 0) + 0.1 * np.exp(-steps / 50.0))
    assert relaxing['pe_per_atom_drift'] < -3 * relaxing['pe_per_atom_drift_sem'] < 0
    assert relaxing['pe_per_atom_drift'] == pytest.approx(-0.0245, abs=0.008)  # 0.1 * 50 / 200 * (1 - e^-4)
