"""Targets of a ladder: the potential-energy slope with its error, volumes per temperature and the flags."""

import numpy as np
import pytest

from aiida_perovskite.analysis import TargetSettings, ladder_targets, population_outliers, potential_energy_slope
from aiida_perovskite.simulation.blocking import BOLTZMANN_KCAL_MOL


def summaries(temperatures, pe, pe_std=0.05, volume=20.0, volume_std=0.03):
    return [{'temperature': t, 'pe_per_atom_mean': e, 'pe_per_atom_std': pe_std, 'volume_per_atom_mean': volume + 0.001 * t,
             'volume_per_atom_std': volume_std, 'n_atoms': 464} for t, e in zip(temperatures, pe)]


def test_slope_and_standard_error_match_the_textbook_formulas():
    rng = np.random.default_rng(1)
    t = np.array([200, 210, 220, 230, 240, 250, 260, 270, 280, 290, 300, 310, 320, 330, 340, 350.0])
    e = -12.0 + 0.0031 * t + rng.normal(0, 0.004, t.size)
    fit = potential_energy_slope(t, e)
    # Reference: scipy-free closed form of the OLS slope and its standard error.
    sxx = np.sum((t - t.mean()) ** 2)
    slope = np.sum((t - t.mean()) * (e - e.mean())) / sxx
    residuals = e - (e.mean() + slope * (t - t.mean()))
    assert fit['slope'] == pytest.approx(slope, rel=1e-10)
    assert fit['stderr'] == pytest.approx(np.sqrt(residuals @ residuals / (t.size - 2) / sxx), rel=1e-10)
    assert abs(fit['slope'] - 0.0031) < 4 * fit['stderr']


def test_two_temperatures_give_an_exact_line_without_error():
    fit = potential_energy_slope([250, 300], [-10.0, -9.8])
    assert fit['slope'] == pytest.approx(0.004)
    assert np.isnan(fit['stderr'])
    with pytest.raises(ValueError, match='two different temperatures'):
        potential_energy_slope([300], [-10.0])


def test_targets_are_ordered_by_temperature_and_carry_units():
    record = ladder_targets(summaries([300, 200, 250, 350], [-9.7, -10.0, -9.85, -9.55]))
    assert record['temperatures'] == [200, 250, 300, 350]
    assert record['cp_u'] == pytest.approx(0.003)
    assert record['v_atom'] == pytest.approx([20.2, 20.25, 20.3, 20.35])
    assert record['flags'] == {'unstable': False, 'pe_off_trend': False, 'pe_drift': False}
    assert record['units']['cp_u'] == 'kcal/mol/K per atom'
    assert record['cp_u_stderr'] == pytest.approx(0.0, abs=1e-12)  # four points exactly on a line
    # Two temperatures: no standard error, stored as None (JSON has no NaN).
    assert ladder_targets(summaries([200, 250], [-10.0, -9.9]))['cp_u_stderr'] is None


def test_volume_fluctuations_above_the_method_threshold_flag_the_material():
    literal = TargetSettings(reference_atoms=None)
    assert ladder_targets(summaries([200, 250], [-10, -9.9], volume_std=0.11), literal)['flags']['unstable']
    assert not ladder_targets(summaries([200, 250], [-10, -9.9], volume_std=0.09), literal)['flags']['unstable']
    relaxed = TargetSettings(unstable_volume_std=0.2, reference_atoms=None)
    assert not ladder_targets(summaries([200, 250], [-10, -9.9], volume_std=0.11), relaxed)['flags']['unstable']


def test_volume_fluctuations_are_compared_at_the_method_cell_size():
    # 464 atoms fluctuate sqrt(4212/464) = 3.0 times more per atom than the method's 4,212-atom cells.
    record = ladder_targets(summaries([200, 250], [-10, -9.9], volume_std=0.25))  # n_atoms 464
    assert record['scaled_volume_std'] == pytest.approx(0.25 * np.sqrt(464 / 4212))
    assert not record['flags']['unstable']
    assert ladder_targets(summaries([200, 250], [-10, -9.9], volume_std=0.35))['flags']['unstable']


def test_a_temperature_off_the_energy_trend_is_flagged_and_named():
    # A collapse at 300 K: its mean energy falls far below the line, by more than its own fluctuation.
    record = ladder_targets(summaries([200, 250, 300, 350], [-10.0, -9.85, -11.0, -9.55], pe_std=0.05))
    assert record['flags']['pe_off_trend']
    assert 300 in record['pe_off_trend_temperatures']
    # Energy falling with temperature is no heat capacity either.
    assert ladder_targets(summaries([200, 250], [-9.8, -10.0]))['flags']['pe_off_trend']


def test_population_outliers_are_found_by_median_absolute_deviation():
    values = {f'm{i}': -10 + 0.1 * i for i in range(20)}
    assert population_outliers(values) == set()
    values['far'] = -40.0
    assert population_outliers(values) == {'far'}
    assert population_outliers({'a': 1, 'b': 100}) == set()  # too few to tell


def test_a_single_temperature_gives_volumes_but_no_slope():
    record = ladder_targets(summaries([300], [-9.7]))
    assert record['cp_u'] is None and record['cp_u_stderr'] is None
    assert record['v_atom'] == pytest.approx([20.3])
    assert record['flags'] == {'unstable': False, 'pe_off_trend': False, 'pe_drift': False}


def test_rigid_x_h_bonds_get_their_k_b_over_2_back():
    """A shake ladder's slope is short by k_B/2 per rigid bond and atom; the targets add it to every estimator."""
    rows = summaries([200, 350], [-10.0, -9.55])
    for row in rows:
        row.update(n_constraints=116, pe_per_atom_sem=0.001, cp_fluctuation=0.0029, cp_fluctuation_sem=0.0002)
    record = ladder_targets(rows)
    shift = 116 / 464 * BOLTZMANN_KCAL_MOL / 2
    assert record['cp_u_constraint_shift'] == pytest.approx(shift) == pytest.approx(2.484e-4, rel=1e-3)
    assert record['cp_u'] == pytest.approx(0.003 + shift)
    assert record['cp_u_fluctuation'] == pytest.approx(0.0029 + shift)
    assert 0.0029 + shift < record['cp_u_combined'] < 0.003 + shift
    unconstrained = ladder_targets(summaries([200, 350], [-10.0, -9.55]))
    assert unconstrained['cp_u_constraint_shift'] == 0.0 and unconstrained['cp_u'] == pytest.approx(0.003)
    rows[1]['n_constraints'] = 0
    with pytest.raises(ValueError, match='different numbers of bonds rigid'):
        ladder_targets(rows)


def test_a_temperature_still_relaxing_is_flagged_as_drifting():
    rows = summaries([200, 350], [-10.0, -9.55])
    rows[0].update(pe_per_atom_drift=-0.004, pe_per_atom_drift_sem=0.002)  # 2 errors: noise
    rows[1].update(pe_per_atom_drift=-0.040, pe_per_atom_drift_sem=0.010)  # 4 errors: still settling
    record = ladder_targets(rows)
    assert record['flags']['pe_drift'] and record['pe_drift_temperatures'] == [350.0]
    assert record['pe_per_atom_drift'] == [-0.004, -0.040]
    assert not ladder_targets(rows, TargetSettings(pe_drift_sigmas=5.0))['flags']['pe_drift']
    rows[1]['pe_per_atom_drift_sem'] = None  # too few samples for an error: no verdict
    assert not ladder_targets(rows)['flags']['pe_drift']
