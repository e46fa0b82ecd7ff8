"""The error raised when a hypothetical structure cannot be built from the given inputs."""

from __future__ import annotations

__all__ = ('BuildError',)


class BuildError(ValueError):
    """The spacer or settings cannot give a layered perovskite; the message says what and which numbers."""

    #: Short, stable identifier (as :class:`aiida_perovskite.structure.StructureError` has).
    code = 'build_error'
