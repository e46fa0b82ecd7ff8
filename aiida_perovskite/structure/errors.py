"""Errors raised while reading, validating and decomposing a crystal structure.

Every problem with an input structure has its own class so that a batch can
report it precisely and a work chain can map it onto its own exit code. The
message always names the file (when known) and the atoms involved.
"""

from __future__ import annotations

__all__ = (
    'AtomsTooCloseError',
    'BondingError',
    'ChargeImbalanceError',
    'DisorderError',
    'MissingHydrogenError',
    'NotLayeredError',
    'StructureError',
    'UnreadableCifError',
    'UnsupportedElementError',
)


class StructureError(ValueError):
    """Base class of every problem with an input structure.

    :param message: what is wrong, naming the atoms or values involved.
    :param path: the file the structure came from, if any; prefixed to ``str(error)``.
    """

    #: Short, stable identifier used in JSON output and for exit codes.
    code = 'structure_error'

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return f'{self.path}: {self.message}' if self.path else self.message

    def with_path(self, path: str | None) -> StructureError:
        """Return the same error, now naming ``path`` (kept if already set)."""
        if self.path is None:
            self.path = path
        return self


class UnreadableCifError(StructureError):
    """The file cannot be parsed as a CIF holding a crystal structure."""

    code = 'unreadable_cif'


class DisorderError(StructureError):
    """The structure has partial occupancies or disorder groups."""

    code = 'disorder'


class MissingHydrogenError(StructureError):
    """Atoms of a molecule have too few neighbours for a closed-shell molecule."""

    code = 'missing_hydrogen'


class AtomsTooCloseError(StructureError):
    """Two atoms are closer than is physically possible."""

    code = 'atoms_too_close'


class UnsupportedElementError(StructureError):
    """The structure contains elements outside the supported set."""

    code = 'unsupported_element'


class ChargeImbalanceError(StructureError):
    """The inferred charges of molecules, metals and halides do not sum to zero."""

    code = 'charge_imbalance'


class NotLayeredError(StructureError):
    """No two-dimensional inorganic layer was found (3D, 1D or 0D framework, or none)."""

    code = 'not_layered'


class BondingError(StructureError):
    """The bond graph is chemically impossible (over-bonded atom, infinite organic chain)."""

    code = 'bonding'
