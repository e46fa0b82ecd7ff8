"""Helpers shared by the AmberTools parsers."""

from __future__ import annotations

import io

from aiida import orm
from aiida.parsers import Parser


class AmberToolParser(Parser):
    """Reads retrieved text files and keeps the program's own words for error messages."""

    def read(self, name: str) -> str | None:
        """Text of a retrieved file, or ``None`` when it is absent."""
        try:
            return self.retrieved.base.repository.get_object_content(name, mode='r')
        except (FileNotFoundError, OSError):
            return None

    def output_file(self, name: str) -> orm.SinglefileData | None:
        content = self.read(name)
        if content is None or not content.strip():
            return None
        return orm.SinglefileData(io.BytesIO(content.encode()), filename=name)

    def tool_messages(self, *names: str, keywords=('error', 'fatal', 'cannot', 'failed')) -> str:
        """What the program said went wrong: from its first line naming a problem on (at most eight
        lines, since the explanation often follows "Fatal Error!"), else its last lines."""
        lines = []
        for name in names:
            lines += [line.strip() for line in (self.read(name) or '').splitlines() if line.strip()]
        first = next((i for i, line in enumerate(lines) if any(word in line.lower() for word in keywords)), None)
        chosen = lines[first:first + 8] if first is not None else lines[-5:]
        return ' | '.join(dict.fromkeys(chosen)) or 'no message'
