"""Every option of every command can also come from the environment.

``--cache-dir`` of any command is read from ``SNAPPROXY_CACHE_DIR`` when not given on the
command line (the command line wins), ``--date`` from ``SNAPPROXY_DATE``, and so on: the
long option name upper-cased, ``-`` as ``_``, under one prefix.  An option with the same
name means the same thing in every command, so one variable serves them all (``serve``,
``run`` and ``fetch`` read the same ``SNAPPROXY_DATE``).  Flags take ``1``/``true``/
``yes``; repeatable options take values separated by white space (click's rules).
"""

from __future__ import annotations

import click

__all__ = ["PREFIX", "read_from_environment", "variable_of"]

PREFIX = "SNAPPROXY"


def variable_of(option: click.Option, prefix: str = PREFIX) -> str | None:
    """The variable an option reads: from its long name; None when it has none."""
    long = next((o for o in option.opts if o.startswith("--")), None)
    if long is None:
        return None
    return f"{prefix}_{long[2:].upper().replace('-', '_')}"


def read_from_environment(group: click.Group, prefix: str = PREFIX) -> None:
    """Give every option of every command of ``group`` its variable (shown in --help)."""
    for command in group.commands.values():
        for param in command.params:
            if not isinstance(param, click.Option) or param.name == "help":
                continue
            variable = variable_of(param, prefix)
            if variable is not None:
                param.envvar = variable
                param.show_envvar = True
