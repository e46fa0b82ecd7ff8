"""Calcfunction: derive a parameter set for a new metal/halide pair (:mod:`aiida_perovskite.forcefield.fitting`)."""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

from aiida_perovskite.data.parameter_set import ParameterSetData


@calcfunction
def fit_ion_pair(reference: ParameterSetData, lattices: orm.Dict, settings: orm.Dict,
                 series: ParameterSetData | None = None) -> dict:
    """Fit the B-X Buckingham prefactor of ``settings['metal']``/``settings['halide']`` to the 3D-analogue lattices.

    :param reference: the validated set the new one is derived from (e.g. ``myp-pbi-uffi`` for tin iodide).
    :param lattices: the experimental reference data, ``{"MABX3": {"metal", "halide", "a", "source"}}``:
        a node of its own, so a fitted set traces back to the measurements it was fitted to.
    :param settings: ``metal``, ``halide`` and optionally ``name`` of the derived set.
    :param series: for a new halide, the set holding the next-heavier halide's self term.
    :returns: ``parameter_set`` (the derived set, unvalidated until ``validate`` says otherwise)
        and ``fit`` (the fitted prefactor, model and measured ratios).
    """
    from aiida_perovskite.forcefield.fitting import derive_parameter_set

    table = {(entry['metal'], entry['halide']): (float(entry['a']), entry['source'])
             for entry in lattices.get_dict().values()}
    options = settings.get_dict()
    content, result = derive_parameter_set(
        reference.parameter_set, options['metal'], options['halide'],
        series=series.parameter_set if series is not None else None, name=options.get('name'), lattices=table,
    )
    derived = ParameterSetData(content)
    derived.label = f'{content["name"]} v{content["version"]} (fitted)'
    return {'parameter_set': derived, 'fit': orm.Dict(result.as_dict())}


def lattice_table() -> orm.Dict:
    """The shipped experimental 3D-analogue lattices as an (unstored) ``Dict`` input of :func:`fit_ion_pair`."""
    from aiida_perovskite.forcefield.fitting import LATTICE_REFERENCES

    return orm.Dict({f'MA{b}{x}3': {'metal': b, 'halide': x, 'a': a, 'source': source}
                     for (b, x), (a, source) in LATTICE_REFERENCES.items()})
