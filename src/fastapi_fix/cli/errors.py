"""The errors the command line reports in one line with exit 2."""

from __future__ import annotations

import click

EXIT_USAGE = 2


class OptionError(click.ClickException):
    """A configuration, option or plan error: exit 2 with one line (``Error: ...``) naming
    the key or value."""

    exit_code = EXIT_USAGE
