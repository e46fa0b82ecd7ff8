"""Fingerprints of many structures, in parallel through the daemon, each computed once per structure and settings.

:class:`FingerprintWorkChain` gives one structure's fingerprint: an existing node of the same structure (by its
hash) and settings (by :meth:`~aiida_perovskite.fingerprint.FingerprintSettings.key`) is returned as it is,
otherwise the calcfunction runs. :class:`FingerprintsWorkChain` submits one of those per structure: on a daemon
with several workers they run side by side.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ToContext, WorkChain

from aiida_perovskite.common.exit_codes import declare


def find_fingerprint(structure: orm.StructureData, settings: dict) -> orm.ArrayData | None:
    """The stored fingerprint of this structure (same hash) with these settings, or None."""
    from aiida_perovskite.calculations.functions.fingerprint import KIND
    from aiida_perovskite.fingerprint import FingerprintSettings

    key = FingerprintSettings(**settings).key()
    query = orm.QueryBuilder().append(orm.ArrayData, filters={
        'attributes.fingerprint': KIND,
        'attributes.settings_key': key,
        'attributes.structure_hash': structure.base.caching.get_hash(),
    }, project='*')
    found = query.first()
    return found[0] if found else None


class FingerprintWorkChain(WorkChain):
    """The fingerprint of one structure, reused when it exists."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData)
        spec.input('settings', valid_type=orm.Dict, default=lambda: orm.Dict({}))
        spec.outline(cls.compute)
        spec.output('fingerprint', valid_type=orm.ArrayData)
        spec.output('reused', valid_type=orm.Bool)

    def compute(self):
        from aiida_perovskite.calculations.functions.fingerprint import hirshfeld_fingerprint

        existing = find_fingerprint(self.inputs.structure, self.inputs.settings.get_dict())
        if existing is not None:
            self.report(f'reusing fingerprint <{existing.pk}>')
            self.out('fingerprint', existing)
        else:
            self.out('fingerprint', hirshfeld_fingerprint(self.inputs.structure, self.inputs.settings))
        self.out('reused', orm.Bool(existing is not None).store())


class FingerprintsWorkChain(WorkChain):
    """Fingerprints of the ``structures`` namespace, one child work chain each (parallel on the daemon)."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input_namespace('structures', valid_type=orm.StructureData, dynamic=True)
        spec.input('settings', valid_type=orm.Dict, default=lambda: orm.Dict({}))
        spec.outline(cls.submit_all, cls.collect)
        spec.output_namespace('fingerprints', valid_type=orm.ArrayData, dynamic=True)
        spec.output('n_reused', valid_type=orm.Int)
        declare(spec, 'ERROR_SUB_PROCESS_FAILED_FINGERPRINT')

    def submit_all(self):
        children = {label: self.submit(FingerprintWorkChain, structure=structure, settings=self.inputs.settings)
                    for label, structure in self.inputs.structures.items()}
        return ToContext(**{f'child_{label}': child for label, child in children.items()})

    def collect(self):
        failed, reused = [], 0
        for label in self.inputs.structures:
            child = self.ctx[f'child_{label}']
            if not child.is_finished_ok:
                failed.append(label)
                continue
            self.out(f'fingerprints.{label}', child.outputs.fingerprint)
            reused += int(child.outputs.reused.value)
        self.out('n_reused', orm.Int(reused).store())
        if failed:
            return self.exit_codes.ERROR_SUB_PROCESS_FAILED_FINGERPRINT.format(message=', '.join(failed))
        return None
