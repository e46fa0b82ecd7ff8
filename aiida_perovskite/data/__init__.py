"""AiiDA data types of the plugin."""

from .dataset import DatasetData
from .model import TrainedModelData
from .parameter_set import ParameterSetData
from .topology import LammpsTopologyData

__all__ = ('DatasetData', 'LammpsTopologyData', 'ParameterSetData', 'TrainedModelData')
