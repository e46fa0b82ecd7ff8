"""Parser of :class:`~aiida_perovskite.calculations.mlip.MlipCalculation`."""

from __future__ import annotations

import io
import json
import math

import numpy as np
from aiida import orm
from aiida.parsers import Parser

from aiida_perovskite.mlip.driver import RELAXED, RESULTS

#: Exit code of each way a run can break (``broken.reason`` in the driver's results).
BROKEN_EXIT_CODES = {'non_finite': 'ERROR_NON_FINITE', 'volume_change': 'ERROR_VOLUME_CHANGE'}


class MlipParser(Parser):
    """The driver's ``results.json`` and last configuration as nodes; its status as an exit code.

    Outputs are attached before an exit code is returned: a run stopped by its step limit still hands
    over its last configuration and summary (and a restart continues its trajectory).
    """

    def parse(self, **kwargs):
        calculation = self.node.process_class
        names = self.retrieved.base.repository.list_object_names()
        if RESULTS not in names:
            stderr = self._text(calculation.STDERR)
            if stderr.strip():
                # The driver's own refusal is one ``error:`` line; anything else (a crash) its last lines.
                lines = stderr.strip().splitlines()
                refusals = [line.removeprefix('error: ') for line in lines if line.startswith('error: ')]
                return self.exit_codes.ERROR_MLIP_DRIVER.format(message=' | '.join(refusals or lines[-3:]))
            return self.exit_codes.ERROR_OUTPUT_MISSING.format(message=f'no {RESULTS}')
        try:
            results = json.loads(self._text(RESULTS))
            forces = np.array(results.pop('forces_ev_a'), dtype=float).reshape(-1, 3)
            stress = np.array(results['stress_gpa'], dtype=float)
        except (ValueError, KeyError, TypeError) as error:
            return self.exit_codes.ERROR_OUTPUT_UNREADABLE.format(message=f'{RESULTS}: {error}')
        results.pop('settings', None)  # the calculation's input, written back by the driver

        finite = all(math.isfinite(value) for value in [*forces.ravel(), *stress, results['energy_ev']])
        if RELAXED in names and finite:
            import ase.io

            atoms = ase.io.read(io.StringIO(self._text(RELAXED)), format='extxyz')
            self.out('structure', orm.StructureData(ase=atoms))
        if finite:
            self.out('forces', _array('forces', forces))
            self.out('stress', _array('stress', _voigt_to_matrix(stress)))
        self.out('output_parameters', orm.Dict(_json_safe(results)))

        status = results['status']
        if status == 'converged':
            return None
        stage = next(s for s in results['stages'] if s['name'] == results['stage'])
        if status == 'not_converged':
            return self.exit_codes.ERROR_NOT_CONVERGED.format(
                stage=stage['name'], force=stage['max_force_ev_a'], stress=stage['max_stress_gpa'])
        broken = results['broken']
        return self.exit_codes[BROKEN_EXIT_CODES[broken['reason']]].format(stage=stage['name'], message=broken['message'])

    def _text(self, name: str) -> str:
        try:
            return self.retrieved.base.repository.get_object_content(name, mode='r')
        except (FileNotFoundError, OSError):
            return ''


def _array(name: str, values: np.ndarray) -> orm.ArrayData:
    array = orm.ArrayData()
    array.set_array(name, values)
    return array


def _voigt_to_matrix(voigt: np.ndarray) -> np.ndarray:
    xx, yy, zz, yz, xz, xy = voigt
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])


def _json_safe(value):
    """NaN and infinities (a broken run's numbers) as None: a Dict node stores JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_safe(item) for item in value]
    return value
