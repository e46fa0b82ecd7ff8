"""Read a LAMMPS log: every thermo block, how the run ended, and its speed."""

from __future__ import annotations

import dataclasses
import re

import numpy as np

_LOOP = re.compile(r'^Loop time of [\d.eE+-]+ on \d+ procs for (\d+) steps')
_PERFORMANCE = re.compile(r'Performance: ([\d.eE+-]+) ns/day.*?([\d.eE+-]+) timesteps/s')
_LOST = re.compile(r'Lost atoms|Bond atoms? .*missing|Angle atoms? .*missing|Dihedral atoms? .*missing', re.IGNORECASE)
_UNSTABLE = re.compile(r'Out of range atoms|Non-numeric (pressure|atom coords)|Shake (determinant|failed)|nan', re.IGNORECASE)


@dataclasses.dataclass
class LogSummary:
    """What one LAMMPS log says."""

    columns: list[str]
    rows: np.ndarray  # every complete thermo row of every block, in order
    completed: bool  # the script ran to its end ("Total wall time")
    error: str | None  # the first ERROR line, if any
    error_kind: str | None  # 'lost_atoms', 'unstable' or 'lammps'
    #: (first step, steps run) of each finished run or minimisation, from its "Loop time" line.
    #: A run stopped by ``timer timeout`` prints no thermo row at its last step, so this, not
    #: the last thermo row, says where it ended.
    blocks: list[tuple[int, int]]
    ns_per_day: float | None
    steps_per_second: float | None

    @property
    def end_step(self) -> int | None:
        """The step the last finished run ended at (``None`` if none finished)."""
        if not self.blocks:
            return None
        first, steps = self.blocks[-1]
        return first + steps

    @property
    def last_step(self) -> int | None:
        """The last step with a thermo row (a killed run ends after it, at an unknown step)."""
        return int(self.rows[-1, 0]) if len(self.rows) else None


def parse_log(text: str) -> LogSummary:
    """Parse ``log.lammps`` text (a partial log from a killed run is fine)."""
    columns: list[str] = []
    rows: list[list[float]] = []
    blocks: list[tuple[int, int]] = []
    inside = False
    block_start = None
    error = None
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        if fields[0] == 'Step':
            if columns and fields != columns:
                raise ValueError(f'thermo columns changed from {columns} to {fields}')
            columns, inside, block_start = fields, True, None
            continue
        loop = _LOOP.match(line)
        if loop:
            inside = False
            if block_start is not None:
                blocks.append((block_start, int(loop.group(1))))
            continue
        if error is None and line.startswith('ERROR'):
            error = line.strip()
        if inside and len(fields) == len(columns):
            try:
                values = [float(value) for value in fields]
            except ValueError:
                continue  # a warning printed inside the block
            rows.append(values)
            if block_start is None:
                block_start = int(values[0])
    performance = _PERFORMANCE.findall(text)
    kind = None
    if error:
        kind = 'lost_atoms' if _LOST.search(error) else 'unstable' if _UNSTABLE.search(error) else 'lammps'
    return LogSummary(
        columns=columns,
        # A log that stops before its first run (an input error) has no thermo columns at all.
        rows=np.array(rows, dtype=float).reshape(len(rows), len(columns)),
        completed='Total wall time' in text,
        error=error,
        error_kind=kind,
        blocks=blocks,
        ns_per_day=float(performance[-1][0]) if performance else None,
        steps_per_second=float(performance[-1][1]) if performance else None,
    )
