"""Protocols: named sets of inputs read from one YAML file per work chain.

Each file holds ``default_protocol``, ``default_inputs`` (every setting the work chain's builder
needs, with the method's values) and ``protocols``, each with a ``description`` and only the
settings it changes. A protocol's inputs are ``default_inputs`` merged with the protocol's
changes, then with the caller's ``overrides``. This module imports nothing from AiiDA, so the
command line can read the files without loading the work chains.
"""

from __future__ import annotations

import functools
import pathlib

import yaml

PROTOCOLS = pathlib.Path(__file__).parent

#: Settings whose dict value is one choice, replaced whole by an override rather than merged key by key
#: (``{'in_plane': 2, 'stacking': 1}`` overridden by ``{'min_width': L}`` must not keep ``in_plane``).
WHOLE_VALUES = ('replication',)


def recursive_merge(base: dict, changes: dict) -> dict:
    """``base`` with ``changes`` applied: nested dicts merged key by key, except :data:`WHOLE_VALUES`."""
    merged = dict(base)
    for key, value in changes.items():
        nested = isinstance(value, dict) and isinstance(base.get(key), dict) and key not in WHOLE_VALUES
        merged[key] = recursive_merge(base[key], value) if nested else value
    return merged


@functools.cache
def _read(filename: str) -> dict:
    return yaml.safe_load((PROTOCOLS / filename).read_text())


def load_protocol_file(filename: str) -> dict:
    """The parsed protocol file ``filename`` (e.g. ``ladder.yaml``); a fresh copy, safe to change."""
    import copy

    return copy.deepcopy(_read(filename))


def protocol_inputs(filename: str, protocol: str | None = None, overrides: dict | None = None) -> dict:
    """The inputs of ``protocol`` (default: the file's ``default_protocol``) with ``overrides`` applied."""
    data = load_protocol_file(filename)
    protocol = protocol or data['default_protocol']
    if protocol not in data['protocols']:
        raise ValueError(f'unknown protocol {protocol!r}; choose one of {", ".join(data["protocols"])}')
    changes = {key: value for key, value in data['protocols'][protocol].items() if key != 'description'}
    return recursive_merge(recursive_merge(data['default_inputs'], changes), overrides or {})


class ProtocolMixin:
    """Protocol methods of a work chain whose protocols are in :attr:`_protocol_file` (next to this module)."""

    _protocol_file: str

    @classmethod
    def get_protocol_filepath(cls) -> pathlib.Path:
        """The YAML file that defines the protocols of this work chain."""
        return PROTOCOLS / cls._protocol_file

    @classmethod
    def get_default_protocol(cls) -> str:
        return load_protocol_file(cls._protocol_file)['default_protocol']

    @classmethod
    def get_available_protocols(cls) -> dict:
        """``{name: {'description': ...}}`` of every protocol."""
        protocols = load_protocol_file(cls._protocol_file)['protocols']
        return {name: {'description': protocol['description']} for name, protocol in protocols.items()}

    @classmethod
    def get_protocol_inputs(cls, protocol: str | None = None, overrides: dict | None = None) -> dict:
        """The inputs of ``protocol`` (default: :meth:`get_default_protocol`) with ``overrides`` merged in.

        :raises ValueError: the protocol is not one of :meth:`get_available_protocols`.
        """
        return protocol_inputs(cls._protocol_file, protocol, overrides)


def default_force_field(protocol: str | None = None) -> dict:
    """The parametrisation's force-field choices in ``protocol`` (default: ``run``'s default protocol, that of
    ``material.yaml``): ``protocol``, ``parameter_set``, ``charge_model``, ``charge_method``, ``summary``.

    Every command that parametrises says this in its help, so they can be seen to agree.
    """
    protocol = protocol or load_protocol_file('material.yaml')['default_protocol']
    inputs = protocol_inputs('parametrise.yaml', protocol)
    chosen = {key: inputs[key] for key in ('parameter_set', 'charge_model', 'charge_method')}
    summary = (f'parameter set "{chosen["parameter_set"]}", {chosen["charge_model"]} ion charges, '
               f'{chosen["charge_method"]} spacer charges (the {protocol} protocol)')
    return {'protocol': protocol, **chosen, 'summary': summary}
