"""Every exit code of this plugin, with its band, in one table.

A process declares the codes it can return with :func:`declare`; a calcfunction
returns one with :func:`exit_code`. A label has one status everywhere, so the
same failure reads the same in every process (``ERROR_SUB_PROCESS_FAILED_SEGMENT``
is 375 in whichever work chain forwards a failed segment).

Bands follow aiida-core's:

- 1xx and below belong to aiida-core (``ERROR_NO_RETRIEVED_FOLDER`` is 100 on every
  ``CalcJob``; ``BaseRestartWorkChain`` owns 301, 302, 401 and 402). They are never
  declared here: a process uses the one it inherits.
- 2xx: the input is wrong (a structure that cannot be simulated, unknown settings).
- 3xx: unrecoverable (missing or unreadable output files, the program's own error,
  a child process that failed for good).
- 4xx: recoverable by a restart handler (stopped or killed, with or without a restart file; a
  relaxation not converged within its step limit).
- 5xx: the physics broke (lost atoms, unstable dynamics, non-finite or runaway MLIP results).
"""

from __future__ import annotations

import dataclasses

from aiida.engine import ExitCode

#: Status range of each band.
BANDS: dict[str, range] = {
    'input': range(200, 300),
    'unrecoverable': range(300, 400),
    'recoverable': range(400, 500),
    'physics': range(500, 600),
}


@dataclasses.dataclass(frozen=True)
class ExitCodeSpec:
    """One exit code: its status, its band (a key of :data:`BANDS`) and its message template."""

    status: int
    band: str
    message: str


def _codes(band: str, *entries: tuple[int, str, str]) -> dict[str, ExitCodeSpec]:
    return {label: ExitCodeSpec(status, band, message) for status, label, message in entries}


#: Every exit code of the plugin, keyed by label.
EXIT_CODES: dict[str, ExitCodeSpec] = {
    **_codes(
        'input',
        (200, 'ERROR_INVALID_PARAMETERS', '{message}'),
        (210, 'ERROR_UNREADABLE_CIF', '{message}'),
        (211, 'ERROR_DISORDERED_STRUCTURE', '{message}'),
        (212, 'ERROR_MISSING_HYDROGEN', '{message}'),
        (213, 'ERROR_ATOMS_TOO_CLOSE', '{message}'),
        (214, 'ERROR_UNSUPPORTED_ELEMENT', '{message}'),
        (215, 'ERROR_CHARGE_IMBALANCE', '{message}'),
        (216, 'ERROR_NOT_LAYERED', '{message}'),
        (217, 'ERROR_IMPOSSIBLE_BONDING', '{message}'),
        (219, 'ERROR_INVALID_STRUCTURE', '{message}'),
        (220, 'ERROR_INVALID_SPACER', 'The builder refused the spacer or settings: {message}'),
        (221, 'ERROR_SEARCH_GENERATION', 'No search candidates could be generated: {message}'),
        (230, 'ERROR_MISSING_PARAMETERS', '{message}'),
        (240, 'ERROR_INVALID_REPLICATION', 'No replication of the cell fits the cut-off: {message}'),
    ),
    **_codes(
        'unrecoverable',
        (310, 'ERROR_OUTPUT_MISSING', 'The program wrote no output file: {message}'),
        (311, 'ERROR_LOG_MISSING', 'LAMMPS wrote no log file: {message}'),
        (312, 'ERROR_THERMO_PARSING', 'The thermo output could not be read: {message}'),
        (313, 'ERROR_OUTPUT_UNREADABLE', 'The output file could not be read: {message}'),
        (320, 'ERROR_ATOM_TYPING', 'antechamber could not assign atom types: {message}'),
        (321, 'ERROR_CHARGES', 'the charge calculation failed: {message}'),
        (322, 'ERROR_CHARGE_SUM', 'the partial charges sum to {total:.4f}, not the net charge {expected}'),
        (330, 'ERROR_PARAMETERS_NOT_FOUND', 'parmchk2 found no parameters for: {message}'),
        (340, 'ERROR_TLEAP', 'tleap reported {errors} error(s): {message}'),
        (341, 'ERROR_ATOM_COUNT', 'the prmtop has {found} atoms but the PDB {expected}: tleap added or lost atoms'),
        (345, 'ERROR_FORCEFIELD', 'The force field could not be assembled: {message}'),
        (350, 'ERROR_LAMMPS', 'LAMMPS stopped with an error: {message}'),
        (351, 'ERROR_MLIP_LABELLING', 'The MLIP labelling stopped with an error: {message}'),
        (352, 'ERROR_MLIP_NOTHING_LABELLED', 'The MLIP labelled none of the {total} configurations: {message}'),
        # The labels that came out finite are kept; the others are named.
        (353, 'ERROR_MLIP_LABEL_FAILED', 'The MLIP failed on {failed} of {total} configurations: {message}'),
        (355, 'ERROR_MLIP_DRIVER', 'The MLIP driver stopped with an error: {message}'),
        (356, 'ERROR_XTB_LABELLING', 'The tblite labelling stopped with an error: {message}'),
        (357, 'ERROR_XTB_NOTHING_LABELLED', 'tblite labelled none of the {total} configurations: {message}'),
        # The labels of the configurations that converged are kept; the others are named.
        (358, 'ERROR_XTB_SCF_FAILED', 'tblite failed on {failed} of {total} configurations: {message}'),
        (360, 'ERROR_BUILT_STRUCTURE_INVALID', 'The built cell fails validation: {message}'),
        # A work chain forwarding a child's failure: one code per kind of child.
        (370, 'ERROR_SUB_PROCESS_FAILED_ANTECHAMBER', '{message}'),
        (371, 'ERROR_SUB_PROCESS_FAILED_PARMCHK2', '{message}'),
        (372, 'ERROR_SUB_PROCESS_FAILED_TLEAP', '{message}'),
        (373, 'ERROR_SUB_PROCESS_FAILED_TOPOLOGY', '{message}'),
        (374, 'ERROR_SUB_PROCESS_FAILED_LAMMPS', 'The LAMMPS run failed and cannot be restarted: {message}'),
        (375, 'ERROR_SUB_PROCESS_FAILED_SEGMENT', 'The {stage} segment failed: {message}'),
        (376, 'ERROR_SUB_PROCESS_FAILED_PARAMETRISE', 'Parametrisation failed: {message}'),
        (377, 'ERROR_SUB_PROCESS_FAILED_LADDER', 'The temperature ladder failed: {message}'),
        (378, 'ERROR_SUB_PROCESS_FAILED_MATERIAL', 'The simulation failed: {message}'),
        (379, 'ERROR_SUB_PROCESS_FAILED_MLIP', 'The MLIP run failed and cannot be restarted: {message}'),
        (380, 'ERROR_NO_CANDIDATE_RELAXED', 'No search candidate finished its {stage} relaxation: {message}'),
        (381, 'ERROR_SUB_PROCESS_FAILED_FINGERPRINT', 'The fingerprints of {message} failed'),
        (382, 'ERROR_SUB_PROCESS_FAILED_TRAINING', 'Training the potential failed: {message}'),
        (383, 'ERROR_SUB_PROCESS_FAILED_LABELLING', 'Labelling the selected frames failed: {message}'),
        (384, 'ERROR_SUB_PROCESS_FAILED_PRESELECTION', 'Ranking the classical minima with the MLIP failed: {message}'),
    ),
    **_codes(
        'recoverable',
        (410, 'ERROR_TIMEOUT_WITH_RESTART',
         'Stopped before the wall-time at step {end} of {target}; restart file written.'),
        (411, 'ERROR_KILLED_WITH_RESTART',
         'Killed at or after step {last} of {target}; periodic restart files remain.'),
        (412, 'ERROR_KILLED_WITHOUT_RESTART',
         'Killed before writing any restart file of its own (last thermo step {last}).'),
        (420, 'ERROR_NOT_CONVERGED',
         'The {stage} stage did not converge within its step limit (max force {force:.3f} eV/A, stress '
         '{stress:.3f} GPa off target); its trajectory continues from the last frame.'),
        # The relaxed cells are kept (a relaxation that ran out of steps is a better start than the input).
        (421, 'ERROR_XTB_RELAX_NOT_CONVERGED',
         'The relaxation of {failed} of {total} configurations did not converge within {steps} steps: {message}'),
    ),
    **_codes(
        'physics',
        (500, 'ERROR_LOST_ATOMS', 'Atoms were lost (unstable dynamics): {message}'),
        (501, 'ERROR_UNSTABLE', 'The dynamics became unstable: {message}'),
        (510, 'ERROR_UNSTABLE_DYNAMICS', 'The dynamics broke again after halving the time step: {message}'),
        (520, 'ERROR_NON_FINITE', 'The {stage} stage broke: {message}'),
        (521, 'ERROR_VOLUME_CHANGE', 'The {stage} stage broke: {message}'),
        # The run ended, but the structure did not hold (analysis.physics): outputs are kept, flagged.
        (530, 'ERROR_BROKEN_PHYSICS', 'Broken physics: {message}'),
    ),
}

#: One exit code per kind of bad input structure, keyed by ``StructureError.code``: (status, label).
STRUCTURE_EXIT_CODES: dict[str, tuple[int, str]] = {
    code: (EXIT_CODES[label].status, label)
    for code, label in {
        'invalid_parameters': 'ERROR_INVALID_PARAMETERS',
        'unreadable_cif': 'ERROR_UNREADABLE_CIF',
        'disorder': 'ERROR_DISORDERED_STRUCTURE',
        'missing_hydrogen': 'ERROR_MISSING_HYDROGEN',
        'atoms_too_close': 'ERROR_ATOMS_TOO_CLOSE',
        'unsupported_element': 'ERROR_UNSUPPORTED_ELEMENT',
        'charge_imbalance': 'ERROR_CHARGE_IMBALANCE',
        'not_layered': 'ERROR_NOT_LAYERED',
        'bonding': 'ERROR_IMPOSSIBLE_BONDING',
        'structure_error': 'ERROR_INVALID_STRUCTURE',
    }.items()
}


def label_of(status: int | None) -> str | None:
    """The label of an exit status of this table (None for 0, aiida-core's own codes and unknown ones)."""
    return next((label for label, code in EXIT_CODES.items() if code.status == status), None)


def declare(spec, *labels: str) -> None:
    """Declare the exit codes ``labels`` (keys of :data:`EXIT_CODES`) on a process ``spec``."""
    for label in labels:
        code = EXIT_CODES[label]
        spec.exit_code(code.status, label, message=code.message)


def exit_code(label: str, message: str) -> ExitCode:
    """The ``ExitCode`` of ``label`` with ``message``, for a calcfunction to return."""
    return ExitCode(EXIT_CODES[label].status, message)
