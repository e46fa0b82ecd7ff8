"""Steps several commands share, with the command line's way of failing."""

from __future__ import annotations

import click


def load_profile_and_codes(profile_name: str | None, computer: str | None = None, tools=None) -> dict:
    """Load the AiiDA profile and the registered codes, or fail with the reason (e.g. run `setup` first)."""
    from aiida import load_profile

    from aiida_perovskite.tools.codes import TOOLS, load_codes

    load_profile(profile_name, allow_switch=True)
    try:
        return load_codes(computer, tuple(tools or TOOLS))
    except LookupError as error:
        raise click.ClickException(str(error)) from None
