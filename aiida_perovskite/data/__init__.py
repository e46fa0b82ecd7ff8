"""AiiDA data types of the plugin."""

from .configurations import ConfigurationSetData, QEqPotentialData
from .dataset import DatasetData
from .model import TrainedModelData
from .parameter_set import ParameterSetData
from .topology import LammpsTopologyData

__all__ = ('ConfigurationSetData', 'DatasetData', 'LammpsTopologyData', 'ParameterSetData', 'QEqPotentialData',
           'TrainedModelData')
