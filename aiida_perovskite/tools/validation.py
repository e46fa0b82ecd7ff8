"""Validation runs: check the inputs before anything runs, run the work chain, print its table."""

from __future__ import annotations

import dataclasses
import pathlib

from aiida import orm


@dataclasses.dataclass
class ValidationJob:
    """One CIF with one charge model and one parameter set, checked and ready to run."""

    path: pathlib.Path
    temperature: float
    temperature_source: str
    charge_model: str
    parameter_set: str
    cell: dict | None = None
    label: str = ''
    error: str | None = None
    #: What the CIF reader changed (a disorder resolved, hydrogens added), one line each.
    notes: tuple[str, ...] = ()


def prepare_validations(path, temperature: float, choices, cell: dict | None = None,
                        label: str = '', skipped: list | None = None, reading: dict | None = None) -> list[ValidationJob]:
    """Read and decompose the CIF once, then per ``(charge_model, parameter_set)`` of ``choices`` resolve
    the set and check the charge model covers the CIF's ions: every choice is checked before anything runs.

    The reference temperature is the CIF's own (``_diffrn_ambient_temperature``, then
    ``_cell_measurement_temperature``) when it states one, else ``temperature``.

    :param skipped: when given, a named set that does not cover the CIF's ions is left out and appended here
        as ``(charge_model, parameter_set, message)`` instead of raising (comparing sets of several
        chemistries over a mixed batch); it still raises when no choice covers them.
    :param reading: how the CIF is read, ``{'disorder': 'major', 'hydrogens': 'add'}`` or part of it (see
        :func:`aiida_perovskite.structure.read_cif`); pass the same to :func:`validation_overrides`, so that the
        work chain reads the CIF the same way.
    :raises StructureError: the CIF cannot be read or decomposed (names the file and the problem).
    :raises ForceFieldError: no parameter set covers its elements, or a charge model cannot describe them.
    """
    from aiida_perovskite.forcefield import MissingParametersError, parse_charge_model, resolve_parameter_set
    from aiida_perovskite.structure.cif import measurement_temperature
    from aiida_perovskite.structure.decompose import inspect_cif, reading_notes

    path = pathlib.Path(path)
    decomposition = inspect_cif(path, **(reading or {}))
    sites = decomposition.structure
    inorganic = {sites[i].specie.symbol for i in decomposition.inorganic_indices}
    stated = None if cell else measurement_temperature(path.read_text(errors='replace'))
    if stated:
        temperature, source = stated[0], f'{stated[1]} of the CIF'
    else:
        source = cell.get('temperature_source', 'given') if cell else 'given'
    jobs = []
    for charge_model, parameter_set in choices:
        try:
            chosen = resolve_parameter_set(parameter_set, inorganic)
        except MissingParametersError as error:
            if skipped is None:
                raise
            skipped.append((charge_model, parameter_set, str(error)))
            continue
        model = parse_charge_model(charge_model)
        model.ion_charges(chosen, inorganic)
        jobs.append(ValidationJob(path, float(temperature), source, model.spec, chosen.name, cell, label,
                                  notes=tuple(reading_notes(decomposition.reading))))
    if not jobs and skipped:
        names = ', '.join(dict.fromkeys(name for _, name, _ in skipped))
        raise MissingParametersError(f'none of the parameter sets given ({names}) covers {", ".join(sorted(inorganic))}')
    return jobs


def prepare_validation(path, temperature: float, charge_model: str, parameter_set: str = 'auto',
                       cell: dict | None = None, label: str = '') -> ValidationJob:
    """:func:`prepare_validations` for one charge model and parameter set."""
    return prepare_validations(path, temperature, [(charge_model, parameter_set)], cell, label)[0]


def validation_overrides(steps: int | None = None, equilibration_steps: int | None = None,
                         min_width: float | None = None, charge_method: str | None = None,
                         seed: int | None = None, reading: dict | None = None) -> dict:
    """``ValidationWorkChain`` overrides for the settings given (None: the protocol's, ``validation.yaml``);
    ``seed`` is the NPT's velocity seed, ``reading`` the decomposition's CIF-reading policies (see
    :func:`prepare_validations`)."""
    overrides, parametrise = {}, {}
    if steps is not None:
        overrides['steps'] = int(steps)
    if equilibration_steps is not None:
        overrides['equilibration_steps'] = int(equilibration_steps)
    if min_width is not None:
        parametrise['lammps'] = {'replication': {'min_width': float(min_width)}}
    if charge_method is not None:
        parametrise['charge_method'] = charge_method
    if reading:
        parametrise['decompose_parameters'] = dict(reading)
    if parametrise:
        overrides['material'] = {'parametrise': parametrise}
    if seed is not None:
        overrides.setdefault('material', {})['ladder'] = {'seed': int(seed)}
    return overrides


def run_validation(job: ValidationJob, codes: dict, overrides: dict | None = None, daemon: bool = False,
                   options: dict | None = None, protocol: str | None = None):
    """Run (or with ``daemon`` submit) the ``ValidationWorkChain`` of a job; return its node.

    :param overrides: overrides of the validation protocol (see :func:`validation_overrides`); the job's
        charge model and parameter set are added to them.
    """
    from aiida.engine import submit
    from aiida.manage import get_manager

    from aiida_perovskite.workflows.protocols.utils import recursive_merge
    from aiida_perovskite.workflows.validation import ValidationWorkChain

    cif = orm.CifData(file=str(job.path.resolve()), filename=job.path.name)
    reference = {'temperature': job.temperature, 'temperature_source': job.temperature_source}
    if job.cell:
        reference['cell'] = job.cell
    chosen = {'material': {'parametrise': {'charge_model': job.charge_model, 'parameter_set': job.parameter_set}}}
    builder = ValidationWorkChain.get_builder_from_protocol(
        codes, cif, reference, protocol, recursive_merge(overrides or {}, chosen), options,
    )
    builder.metadata.label = job.label or f'{job.path.name} {job.charge_model} {job.parameter_set}'
    if daemon:
        return submit(builder)
    runner = get_manager().create_runner(communicator=None)  # a local runner: no broker needed
    process = runner.instantiate_process(builder)
    try:
        runner.run(process)
    except Exception as error:  # one crash must not stop the batch: the caller reports it
        job.error = f'{type(error).__name__}: {error}'
    return process.node


def run_mlip_validation(path, code, potential: str, settings: dict | None = None, cell: dict | None = None,
                        label: str = '', reading: dict | None = None) -> tuple[orm.Node, dict | None, str | None]:
    """Relax the CIF at ``path`` at 0 K with an MLIP (``MlipRelaxWorkChain``) and compare it with its own cell
    (or ``cell``). Returns the work chain's node, the record (None on failure) and the failure.

    :param potential: ``NAME`` or ``NAME+d3`` (see :mod:`aiida_perovskite.mlip.potentials`).
    :param settings: driver settings over the work chain's default protocol (e.g. ``{'fmax': 0.02}``).
    """
    from aiida.engine import run_get_node

    from aiida_perovskite.calculations.functions.decompose import decompose_cif
    from aiida_perovskite.calculations.functions.validation import compare_relaxed_with_reference
    from aiida_perovskite.workflows.mlip import MlipRelaxWorkChain

    path = pathlib.Path(path)
    cif = orm.CifData(file=str(path.resolve()), filename=path.name)
    decomposed, node = decompose_cif.run_get_node(
        cif, **({'parameters': orm.Dict(reading)} if reading else {}))
    if not node.is_finished_ok:
        return node, None, f'[{node.exit_status}] {node.exit_message}'
    overrides = {'parameters': {**(settings or {}), 'potential': potential}}
    builder = MlipRelaxWorkChain.get_builder_from_protocol(code, decomposed['structure'], overrides=overrides)
    builder.metadata.label = label or f'{path.name} mlip:{potential}'
    results, node = run_get_node(builder)
    if not node.is_finished_ok:
        return node, None, f'[{node.exit_status}] {node.exit_message}'
    record = compare_relaxed_with_reference(decomposed['structure'], decomposed['decomposition'],
                                            results['structure'], results['output_parameters'],
                                            orm.Dict({'cell': cell} if cell else {}))
    return node, record.get_dict(), None


def validation_table(record: dict) -> str:
    """The validation record as a titled table: one row per quantity, then the octahedra check."""
    from tabulate import tabulate

    rows = [[row['quantity'], row['direction'], f'{row["reference"]:.3f}', f'{row["simulated"]:.3f}',
             f'{row["deviation"]:+.2f} {row["deviation_unit"]}'] for row in record['rows']]
    octahedra = record['octahedra']
    if record.get('engine', 'lammps').startswith('mlip:'):
        potential = record['potential']
        title = (f'{record["file"]} ({record["formula"]}): {record["engine"]} ({potential["package"]} '
                 f'{potential["package_version"]}, weights sha256 {potential["weights_sha256"][:12]}), '
                 f'{record["n_atoms"]} atoms, 0 K relaxation; reference: {record["reference_source"]}')
    else:
        title = (f'{record["file"]} ({record["formula"]}): charge model {record["charge_model"]}, parameter set '
                 f'{record["parameter_set"]}, {record["n_atoms"]} atoms ({"x".join(map(str, record["replication"]))}), '
                 f'{record["temperature"]:g} K ({record["temperature_source"]}); reference: {record["reference_source"]}')
    cutoff = octahedra['cutoff']
    within = (', '.join(f'{halide} {value:.2f}' for halide, value in cutoff.items()) if isinstance(cutoff, dict)
              else f'{cutoff}')
    footer = (f'octahedra intact (six halides within {within} A): {octahedra["intact"]}/{octahedra["metals"]}'
              f' = {octahedra["share"]:.0%} (input cell: {octahedra.get("reference_share", float("nan")):.0%})')
    contacts = record.get('contacts')
    if contacts and contacts.get('input_mean_shortest'):
        footer += (f'\nammonium N...X, mean of each head\'s shortest: {contacts["mean_shortest"]:.2f} A '
                   f'(input cell: {contacts["input_mean_shortest"]:.2f} A)')
    table = tabulate(rows, headers=['quantity', 'direction', 'reference', 'simulated', 'deviation'],
                     disable_numparse=True)
    return f'{title}\n{table}\n{footer}'
