"""Standard errors of means of correlated time series by block averaging, and the NPT fluctuation estimate.

Successive MD samples are correlated, so ``std / sqrt(n)`` understates the error of their mean by the
square root of the statistical inefficiency (``1 + 2 * sum of the autocorrelations``). Block averaging
(Flyvbjerg and Petersen, J. Chem. Phys. 91, 461 (1989)) repeatedly averages neighbouring pairs of samples;
once blocks are longer than the correlation time, the naive standard error of the block means stops
growing and equals the true one. The level is chosen automatically by Jonsson's test (Phys. Rev. E 98,
043304 (2018)): the first level from which the remaining lag-1 autocorrelations are consistent with none.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.stats import chi2

#: Boltzmann's constant in kcal/mol/K (LAMMPS ``real`` units).
BOLTZMANN_KCAL_MOL = 0.0019872043
#: One atm times one cubic angstrom in kcal/mol (the PV term of the enthalpy in ``real`` units).
ATM_A3_IN_KCAL_MOL = 101325.0 * 1e-30 * 6.02214076e23 / 4184.0
#: Fewest samples a series must have for a block standard error (below it: NaN).
MIN_SAMPLES = 8
#: Fewest blocks the chosen level may have: the standard error of fewer block means is itself too noisy.
MIN_BLOCKS = 4


@dataclasses.dataclass(frozen=True)
class BlockEstimate:
    """The mean of a series and its standard error, naive and from block averaging."""

    mean: float
    #: Standard error from the block means at the chosen level (NaN: too few samples).
    stderr: float
    #: ``std / sqrt(n)``: right only for uncorrelated samples.
    naive_stderr: float
    n_samples: int
    #: Samples per block at the chosen level.
    block_size: int
    #: ``(stderr / naive_stderr)^2``: how many samples make one independent one.
    inefficiency: float
    #: False when even the coarsest allowed level still looked correlated: the standard error is a lower bound.
    converged: bool

    def as_dict(self, prefix: str) -> dict:
        return {
            f'{prefix}_sem': self.stderr,
            f'{prefix}_sem_naive': self.naive_stderr,
            f'{prefix}_block_size': self.block_size,
            f'{prefix}_inefficiency': self.inefficiency,
            f'{prefix}_sem_converged': self.converged,
        }


def block_average(series) -> BlockEstimate:
    """Mean and block-averaged standard error of ``series`` (1-D, in time order, equally spaced).

    At each level the variance ``s_k`` and lag-1 autocovariance ``g_k`` of the ``n_k`` block means are
    computed (a trailing odd block is dropped, so any length works). Jonsson's statistic
    ``M_j = sum_{k>=j} n_k (g_k / s_k)^2`` is chi-squared with one degree of freedom per level when the
    blocks from level ``j`` on are uncorrelated; the first level where it falls below the 99% quantile
    is taken, and the standard error is ``sqrt(s_j / n_j)``.
    """
    x = np.asarray(series, dtype=float)
    if x.ndim != 1:
        raise ValueError(f'expected a 1-D series, got shape {x.shape}')
    n = x.size
    mean = float(np.mean(x)) if n else float('nan')
    naive = float(np.std(x, ddof=1) / np.sqrt(n)) if n > 1 else float('nan')
    if n < MIN_SAMPLES or not np.isfinite(x).all():
        return BlockEstimate(mean, float('nan'), naive, n, 1, float('nan'), False)
    if np.ptp(x) == 0:
        return BlockEstimate(mean, 0.0, 0.0, n, 1, 1.0, True)

    variances, gammas, counts, sizes = [], [], [], []
    blocks, size = x, 1
    while blocks.size >= MIN_BLOCKS:
        centred = blocks - blocks.mean()
        variance = float(np.mean(centred**2))
        variances.append(variance)
        gammas.append(float(np.mean(centred[:-1] * centred[1:])) if blocks.size > 1 else 0.0)
        counts.append(blocks.size)
        sizes.append(size)
        even = blocks[: blocks.size // 2 * 2]
        blocks, size = 0.5 * (even[0::2] + even[1::2]), size * 2
    variances, gammas, counts = np.array(variances), np.array(gammas), np.array(counts)
    with np.errstate(divide='ignore', invalid='ignore'):
        terms = np.where(variances > 0, counts * (gammas / variances) ** 2, 0.0)
    statistic = np.cumsum(terms[::-1])[::-1]
    levels = len(variances)
    chosen, converged = levels - 1, False
    for level in range(levels):
        if statistic[level] < chi2.ppf(0.99, levels - level):
            chosen, converged = level, True
            break
    stderr = float(np.sqrt(variances[chosen] / (counts[chosen] - 1)))
    # The test accepts a level whose blocks are still slightly correlated (it has little power at few
    # blocks), which biases the error low: correct it for the remaining lag-1 correlation, as for an AR(1)
    # series of block means (measured on AR(1) series: mean ratio to the exact error 0.78-0.93 without it).
    rho = float(np.clip(gammas[chosen] / variances[chosen], 0.0, 0.9)) if variances[chosen] > 0 else 0.0
    stderr *= float(np.sqrt((1 + rho) / (1 - rho)))
    stderr = max(stderr, naive)  # blocking cannot make samples more than independent
    return BlockEstimate(mean, stderr, naive, n, sizes[chosen], (stderr / naive) ** 2 if naive > 0 else 1.0,
                         converged)


def fluctuation_heat_capacity(potential, volume, temperature: float, n_atoms: int, pressure: float = 1.0) -> dict:
    """``d<U>/dT`` per atom from the fluctuations of one NPT temperature: ``cov(U, H) / (k_B T^2) / N``.

    :param potential: the total potential energy ``U`` of each sample (kcal/mol).
    :param volume: the cell volume of each sample (A^3).
    :param pressure: the barostat's set point (atm), for ``H = U + P V``.

    The kinetic energy is left out of ``H``: in the NPT ensemble it is independent of the configuration,
    so its covariance with ``U`` is zero and keeping it would only add noise. The standard error is the
    block-averaged one of the products ``(U - <U>)(H - <H>)`` whose mean is the covariance.
    """
    u = np.asarray(potential, dtype=float)
    h = u + pressure * ATM_A3_IN_KCAL_MOL * np.asarray(volume, dtype=float)
    if u.size < 2:
        return {'cp_fluctuation': float('nan'), 'cp_fluctuation_sem': float('nan')}
    products = (u - u.mean()) * (h - h.mean())
    estimate = block_average(products)
    scale = BOLTZMANN_KCAL_MOL * float(temperature) ** 2 * int(n_atoms)
    # The covariance with the sample's own means is biased low by a factor (n - 1) / n: undone here.
    covariance = estimate.mean * u.size / (u.size - 1)
    return {'cp_fluctuation': covariance / scale, 'cp_fluctuation_sem': estimate.stderr / scale}


def slope_stderr(temperatures, stderrs) -> float:
    """Standard error of the least-squares slope of means against temperature from the means' own errors:
    ``sqrt(sum w_i^2 se_i^2)`` with ``w_i = (T_i - <T>) / sum (T_j - <T>)^2`` (independent temperatures)."""
    t = np.asarray(temperatures, dtype=float)
    se = np.asarray(stderrs, dtype=float)
    weights = (t - t.mean()) / np.sum((t - t.mean()) ** 2)
    return float(np.sqrt(np.sum(weights**2 * se**2)))


def inverse_variance_mean(values, stderrs) -> tuple[float, float]:
    """Weighted mean of independent estimates of one quantity and its standard error (NaN if none usable)."""
    values, stderrs = np.asarray(values, dtype=float), np.asarray(stderrs, dtype=float)
    usable = np.isfinite(values) & np.isfinite(stderrs) & (stderrs > 0)
    if not usable.any():
        return float('nan'), float('nan')
    weights = 1.0 / stderrs[usable] ** 2
    return float(np.sum(weights * values[usable]) / np.sum(weights)), float(1.0 / np.sqrt(np.sum(weights)))
