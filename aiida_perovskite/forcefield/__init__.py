"""Force-field data and file writers (plain Python, no AiiDA)."""

from .charges import CHARGE_MODELS, ChargeModel, parse_charge_model
from .parameter_sets import (
    HETEROATOM_POLICIES,
    ForceFieldError,
    MissingParametersError,
    ParameterSet,
    available_parameter_sets,
    load_parameter_set,
    resolve_parameter_set,
    select_parameter_set,
    validation_holds,
    validation_summary,
)

__all__ = (
    'CHARGE_MODELS',
    'ChargeModel',
    'parse_charge_model',
    'HETEROATOM_POLICIES',
    'ForceFieldError',
    'MissingParametersError',
    'ParameterSet',
    'available_parameter_sets',
    'load_parameter_set',
    'resolve_parameter_set',
    'select_parameter_set',
    'validation_holds',
    'validation_summary',
)
