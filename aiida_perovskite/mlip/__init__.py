"""The machine-learned-potential engine: pretrained universal MLIPs (+ D3) through ASE, plain Python.

:mod:`.potentials` loads a potential and records it; :mod:`.relax` relaxes (two stages) or runs NPT
with restarts; :mod:`.driver` is the command line a ``MlipCalculation`` runs on any computer.
"""

from .potentials import D3_DEFAULTS, POTENTIALS, load_potential, parse_name
from .relax import DEFAULTS, NPT_DEFAULTS, run_stages, validate_settings

__all__ = ['D3_DEFAULTS', 'DEFAULTS', 'NPT_DEFAULTS', 'POTENTIALS', 'load_potential', 'parse_name', 'run_stages',
           'validate_settings']
