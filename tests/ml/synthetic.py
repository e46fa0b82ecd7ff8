"""Synthetic long tables whose answer is known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd

TEMPERATURES = (200.0, 250.0, 300.0, 350.0)


def static_features(n_materials: int, rng: np.random.Generator, n_fragments: int = 4) -> pd.DataFrame:
    """Per-material CIF-like features of four families."""
    features = {
        'lattice:in_plane_long': rng.normal(8.9, 0.3, n_materials),
        'lattice:in_plane_short': rng.normal(8.6, 0.3, n_materials),
        'lattice:stacking': rng.normal(25.0, 4.0, n_materials),
        'cell:volume_per_atom': rng.normal(20.0, 2.0, n_materials),
        'cell:n_atoms': rng.integers(40, 200, n_materials).astype(float),
        'layers:interlayer_distance': rng.normal(7.0, 1.5, n_materials),
    }
    for index in range(n_fragments):
        features[f'jdd1:fragment_{index}'] = rng.poisson(2.0, n_materials).astype(float)
    return pd.DataFrame(features)


def long_table(static: pd.DataFrame, cp_u: np.ndarray, v_atom: np.ndarray, temperatures=TEMPERATURES) -> pd.DataFrame:
    """Repeat per-material columns over the temperatures; ``v_atom`` has shape (materials, temperatures)."""
    n_materials = len(static)
    rows = []
    for material in range(n_materials):
        for column, temperature in enumerate(temperatures):
            rows.append(
                {
                    'material': f'm{material:03d}',
                    'temperature': temperature,
                    'cif_uuid': f'cif-{material}',
                    'smiles': 'CCCC[NH3+]',
                    **static.iloc[material].to_dict(),
                    'cp_u': cp_u[material],
                    'cp_u_stderr': 0.01,
                    'v_atom': v_atom[material, column],
                    'flag_pe_outlier': False,
                    'flag_unstable': False,
                }
            )
    return pd.DataFrame(rows)


def linear_frame(n_materials: int = 60, sigma: float = 0.3, seed: int = 0, temperatures=TEMPERATURES):
    """cp_u and v_atom linear in the standardised features plus Gaussian noise of known sigma.

    Returns the table and the noise limits of R2 (1 - sigma^2 / Var(y)) for cp_u and v_atom.
    """
    rng = np.random.default_rng(seed)
    static = static_features(n_materials, rng)
    standard = ((static - static.mean()) / static.std(ddof=0)).to_numpy()
    weights = np.array([0.8, -0.5, 0.0, 1.0, 0.0, 0.6, 0.3, 0.0, -0.4, 0.0])
    signal = standard @ weights
    cp_u = 2.0 + signal + rng.normal(0, sigma, n_materials)
    temperatures = np.asarray(temperatures)
    thermal = 0.004 * (temperatures - temperatures.mean())
    v_atom = 20.0 + signal[:, None] + thermal[None, :] + rng.normal(0, sigma, (n_materials, len(temperatures)))
    table = long_table(static, cp_u, v_atom, temperatures)
    # The noise-free values, carried to the predictions (an id column: no ':'), so a test can compute the R2
    # the true function itself reaches on each test fold: the ceiling no honest model can beat.
    table['signal_cp_u'] = np.repeat(2.0 + signal, len(temperatures))
    table['signal_v_atom'] = (20.0 + signal[:, None] + thermal[None, :]).ravel()
    limit_cp_u = 1 - sigma**2 / (signal.var() + sigma**2)
    limit_v_atom = 1 - sigma**2 / ((signal[:, None] + thermal[None, :]).var() + sigma**2)
    return table, {'cp_u': limit_cp_u, 'v_atom': limit_v_atom}


def memorisation_frame(n_materials: int = 40, seed: int = 0, temperatures=(200.0, 250.0, 300.0, 350.0, 400.0)):
    """v_atom is a per-material random effect that the (random, per-material) features cannot predict except by
    memorising the material."""
    rng = np.random.default_rng(seed)
    static = pd.DataFrame({f'noise:f{index}': rng.normal(size=n_materials) for index in range(8)})
    static['cell:volume_per_atom'] = rng.normal(20, 2, n_materials)
    effect = rng.normal(0, 1.0, n_materials)
    v_atom = effect[:, None] + rng.normal(0, 0.05, (n_materials, len(temperatures)))
    return long_table(static, effect, v_atom, temperatures)
