"""From simulations and structures to learning data: targets from the temperature ladder, features from the CIF.

Plain Python (numpy, pymatgen): nothing here imports AiiDA.
"""

from .features import FEATURE_FAMILIES, structure_elements, structure_features, structure_identity
from .physics import PhysicsChecks, physics_check
from .targets import TargetSettings, ladder_targets, population_outliers, potential_energy_slope

__all__ = (
    'FEATURE_FAMILIES',
    'PhysicsChecks',
    'TargetSettings',
    'ladder_targets',
    'physics_check',
    'population_outliers',
    'potential_energy_slope',
    'structure_elements',
    'structure_features',
    'structure_identity',
)
