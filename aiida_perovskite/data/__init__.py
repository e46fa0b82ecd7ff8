"""AiiDA data types of the plugin."""

from .parameter_set import ParameterSetData
from .topology import LammpsTopologyData

__all__ = ('LammpsTopologyData', 'ParameterSetData')
