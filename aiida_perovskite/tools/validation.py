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


def prepare_validations(path, temperature: float, choices, cell: dict | None = None,
                        label: str = '') -> list[ValidationJob]:
    """Read and decompose the CIF once, then per ``(charge_model, parameter_set)`` of ``choices`` resolve
    the set and check the charge model covers the CIF's ions: every choice is checked before anything runs.

    The reference temperature is the CIF's own (``_diffrn_ambient_temperature``, then
    ``_cell_measurement_temperature``) when it states one, else ``temperature``.

    :raises StructureError: the CIF cannot be read or decomposed (names the file and the problem).
    :raises ForceFieldError: no parameter set covers its elements, or a charge model cannot describe them.
    """
    from aiida_perovskite.forcefield import parse_charge_model, resolve_parameter_set
    from aiida_perovskite.structure.cif import measurement_temperature
    from aiida_perovskite.structure.decompose import inspect_cif

    path = pathlib.Path(path)
    decomposition = inspect_cif(path)
    sites = decomposition.structure
    inorganic = {sites[i].specie.symbol for i in decomposition.inorganic_indices}
    stated = None if cell else measurement_temperature(path.read_text(errors='replace'))
    if stated:
        temperature, source = stated[0], f'{stated[1]} of the CIF'
    else:
        source = cell.get('temperature_source', 'given') if cell else 'given'
    jobs = []
    for charge_model, parameter_set in choices:
        chosen = resolve_parameter_set(parameter_set, inorganic)
        model = parse_charge_model(charge_model)
        model.ion_charges(chosen, inorganic)
        jobs.append(ValidationJob(path, float(temperature), source, model.spec, chosen.name, cell, label))
    return jobs


def prepare_validation(path, temperature: float, charge_model: str, parameter_set: str = 'auto',
                       cell: dict | None = None, label: str = '') -> ValidationJob:
    """:func:`prepare_validations` for one charge model and parameter set."""
    return prepare_validations(path, temperature, [(charge_model, parameter_set)], cell, label)[0]


def validation_overrides(steps: int | None = None, equilibration_steps: int | None = None,
                         min_width: float | None = None, charge_method: str | None = None) -> dict:
    """``ValidationWorkChain`` overrides for the settings given (None: the protocol's, ``validation.yaml``)."""
    overrides, parametrise = {}, {}
    if steps is not None:
        overrides['steps'] = int(steps)
    if equilibration_steps is not None:
        overrides['equilibration_steps'] = int(equilibration_steps)
    if min_width is not None:
        parametrise['lammps'] = {'replication': {'min_width': float(min_width)}}
    if charge_method is not None:
        parametrise['charge_method'] = charge_method
    if parametrise:
        overrides['material'] = {'parametrise': parametrise}
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


def validation_table(record: dict) -> str:
    """The validation record as a titled table: one row per quantity, then the octahedra check."""
    from tabulate import tabulate

    rows = [[row['quantity'], row['direction'], f'{row["reference"]:.3f}', f'{row["simulated"]:.3f}',
             f'{row["deviation"]:+.2f} {row["deviation_unit"]}'] for row in record['rows']]
    octahedra = record['octahedra']
    title = (f'{record["file"]} ({record["formula"]}): charge model {record["charge_model"]}, parameter set '
             f'{record["parameter_set"]}, {record["n_atoms"]} atoms ({"x".join(map(str, record["replication"]))}), '
             f'{record["temperature"]:g} K ({record["temperature_source"]}); reference: {record["reference_source"]}')
    footer = (f'octahedra intact (six halides within {octahedra["cutoff"]} A): {octahedra["intact"]}/{octahedra["metals"]}'
              f' = {octahedra["share"]:.0%} (input cell: {octahedra.get("reference_share", float("nan")):.0%})')
    table = tabulate(rows, headers=['quantity', 'direction', 'reference', 'simulated', 'deviation'],
                     disable_numparse=True)
    return f'{title}\n{table}\n{footer}'
