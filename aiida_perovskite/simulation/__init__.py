"""LAMMPS segments: input scripts, log parsing and per-temperature statistics (plain Python, no AiiDA)."""

from .log import LogSummary, parse_log
from .script import SEGMENT_DEFAULTS, segment_script
from .summary import THERMO_COLUMNS, summarise_temperature

__all__ = ('SEGMENT_DEFAULTS', 'THERMO_COLUMNS', 'LogSummary', 'parse_log', 'segment_script', 'summarise_temperature')
