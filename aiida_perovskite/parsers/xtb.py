"""Parser of :class:`~aiida_perovskite.calculations.xtb.XtbLabelCalculation`."""

from __future__ import annotations

import json
import pathlib
import tempfile

from aiida import orm
from aiida.parsers import Parser

from aiida_perovskite.data.configurations import ConfigurationSetData
from aiida_perovskite.mlip.xtb import LABELLED, RELAXED, RESULTS


class XtbLabelParser(Parser):
    """The labelled configurations (or, in the relax mode, the relaxed cells) as a :class:`ConfigurationSetData`
    (origins kept) and the run's record.

    Configurations whose SCF failed are left out and named (``ERROR_XTB_SCF_FAILED``, after the outputs).
    :class:`~aiida_perovskite.parsers.mlip_label.MlipLabelParser` reads the MLIP labelling's files, which have the
    same layout, with its own exit codes.
    """

    #: The exit codes of a labelling that stopped, labelled nothing, or labelled only some configurations.
    STOPPED, NOTHING, SOME_FAILED = 'ERROR_XTB_LABELLING', 'ERROR_XTB_NOTHING_LABELLED', 'ERROR_XTB_SCF_FAILED'

    def parse(self, **kwargs):
        from aiida_perovskite.mlip.xtb import read

        calculation = self.node.process_class
        names = self.retrieved.base.repository.list_object_names()
        if RESULTS not in names:
            stderr = self._text(calculation.STDERR).strip()
            if stderr:
                lines = stderr.splitlines()
                refusals = [line.removeprefix('error: ') for line in lines if line.startswith('error: ')]
                return self.exit_codes[self.STOPPED].format(message=' | '.join(refusals or lines[-3:]))
            return self.exit_codes.ERROR_OUTPUT_MISSING.format(message=f'no {RESULTS}')
        try:
            results = json.loads(self._text(RESULTS))
            total, failures = int(results['n_configurations']), list(results['failures'])
        except (ValueError, KeyError, TypeError) as error:
            return self.exit_codes.ERROR_OUTPUT_UNREADABLE.format(message=f'{RESULTS}: {error}')
        self.out('output_parameters', orm.Dict(results))
        relaxing = 'relaxations' in results  # the relax mode: relaxed cells, unlabelled
        name, count = (RELAXED, results.get('n_relaxed', 0)) if relaxing else (LABELLED, results.get('n_labelled', 0))
        if count == 0:
            return self.exit_codes[self.NOTHING].format(
                total=total, message='; '.join(f['message'] for f in failures[:3]))
        with tempfile.TemporaryDirectory() as folder:
            path = pathlib.Path(folder) / name
            path.write_text(self._text(name))
            try:
                frames = read(path)
            except ValueError as error:
                return self.exit_codes.ERROR_OUTPUT_UNREADABLE.format(message=str(error))
        if len(frames) != count:
            return self.exit_codes.ERROR_OUTPUT_UNREADABLE.format(
                message=f'{name} holds {len(frames)} configurations, {RESULTS} says {count}')
        if relaxing:
            for atoms, entry in zip(frames, results['relaxations']):
                atoms.info['origin'] = {**atoms.info.get('origin', {}), 'relaxation': entry}
            self.out('relaxed', ConfigurationSetData.from_atoms(frames))
        else:
            self.out('configurations', ConfigurationSetData.from_atoms(frames, labels=results['record']))
        if failures:
            return self.exit_codes[self.SOME_FAILED].format(
                failed=len(failures), total=total,
                message='; '.join(f'#{f["index"]} {f["message"]}' for f in failures[:3]))
        stuck = [entry for entry in results.get('relaxations', []) if not entry['converged']]
        if stuck:
            return self.exit_codes.ERROR_XTB_RELAX_NOT_CONVERGED.format(
                failed=len(stuck), total=total, steps=results['max_steps'],
                message='; '.join(f'#{e["index"]} max force {e["max_force_ev_a"]:.3f} eV/A, stress '
                                  f'{e["max_stress_gpa"]:.3f} GPa' for e in stuck[:3]))
        return None

    def _text(self, name: str) -> str:
        try:
            return self.retrieved.base.repository.get_object_content(name, mode='r')
        except (FileNotFoundError, OSError):
            return ''

