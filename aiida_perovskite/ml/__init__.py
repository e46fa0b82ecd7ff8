"""Machine learning of simulated properties from static CIF features, evaluated by nested cross-validation over
materials (the method of the thesis, section 4.4, without its leaks).

Plain Python: nothing here imports AiiDA. Every split is made by the ``material`` column of the data table.
"""

from .prediction import predict
from .report import format_metrics, write_report
from .serialise import UntrustedModelError, dump_model, load_model
from .settings import BASELINES, MODEL_FAMILIES, TrainingSettings, method_grids
from .tasks import TASKS
from .training import TrainingResult, train

__all__ = (
    'BASELINES',
    'MODEL_FAMILIES',
    'TASKS',
    'TrainingResult',
    'TrainingSettings',
    'UntrustedModelError',
    'dump_model',
    'format_metrics',
    'load_model',
    'method_grids',
    'predict',
    'train',
    'write_report',
)
