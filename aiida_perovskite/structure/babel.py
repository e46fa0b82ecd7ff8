"""The OpenBabel bindings, loaded in the one order that is safe in a long-lived process.

The first import of ``openbabel.pybel`` builds its tables of plugins (formats, descriptors, fingerprints). When
the bare bindings (``openbabel.openbabel``) were loaded before parmed's compiled prmtop reader
(``parmed.amber._rdparm``, loaded by every parametrisation) and pybel comes after it, that first import
aborts the interpreter (``free(): invalid pointer``): a daemon worker or a test session that read a topology
and then built a cell died this way. Loading pybel together with the bindings, whichever comes first, keeps
that order from happening; every module of this package takes the bindings from here.
"""

from __future__ import annotations

__all__ = ('bindings',)


def bindings():
    """The ``openbabel.openbabel`` module, with ``openbabel.pybel`` imported beside it (see the module text)."""
    from openbabel import openbabel, pybel  # noqa: F401 (pybel's plugin tables must exist before parmed loads)

    return openbabel
