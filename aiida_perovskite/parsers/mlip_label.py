"""Parser of :class:`~aiida_perovskite.calculations.mlip.MlipLabelCalculation`."""

from __future__ import annotations

from aiida_perovskite.parsers.xtb import XtbLabelParser


class MlipLabelParser(XtbLabelParser):
    """The MLIP-labelled configurations and the run's record: the same files as the xTB labelling, its own exit codes."""

    STOPPED, NOTHING, SOME_FAILED = 'ERROR_MLIP_LABELLING', 'ERROR_MLIP_NOTHING_LABELLED', 'ERROR_MLIP_LABEL_FAILED'
