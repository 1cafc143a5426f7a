"""The commands the rules call must be on PATH before any job starts.

Without it, each job ends as `utrflow: command not found` (exit 127) inside Snakemake's
output, long after the start-up checks passed; the usual cause is a venv not activated.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable

from utrflow.errors import InputError

RULE_COMMANDS = ("utrflow",)  # every rule's shell command is `utrflow SUBCOMMAND ...`


def check_commands(
    per_rule_environments: bool,
    commands: Iterable[str] = RULE_COMMANDS,
    which: Callable[[str], str | None] = shutil.which,
) -> None:
    """Stop when a command the rules call is not on PATH (unless each rule gets its own
    environment, `--sdm conda`, which installs the package there)."""
    if per_rule_environments:
        return
    for name in commands:
        if which(name) is None:
            raise InputError(
                f"the `{name}` command the rules call is not on PATH: activate the environment "
                "utrflow was installed in (`source .venv/bin/activate` in the clone, or "
                "`conda activate utrflow`), or run with `--sdm conda`"
            )
