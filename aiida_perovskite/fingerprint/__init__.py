"""Crystal fingerprints for machine learning (plain Python, no AiiDA).

- :mod:`.hirshfeld`: atomic Hirshfeld surfaces (occpy) binned into the (d_i, d_e) fingerprint image of
  Williams, Mukherjee, Dasgupta and Rajan, with element-pair channels and contact summaries;
- :mod:`.graph`: crystal graphs (neighbours within a cutoff, Gaussian distance expansion) for CGCNN.
"""

from .hirshfeld import (
    CHANNELS,
    FingerprintSettings,
    HirshfeldFingerprint,
    atom_surface,
    hirshfeld_fingerprint,
    summary_features,
)

__all__ = (
    'CHANNELS',
    'FingerprintSettings',
    'HirshfeldFingerprint',
    'atom_surface',
    'hirshfeld_fingerprint',
    'summary_features',
)
