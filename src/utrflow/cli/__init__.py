"""The `utrflow` command line: one subcommand per workflow stage.

Each Snakemake rule calls exactly one of these, so every stage also runs by hand. A command
parses its arguments and calls its stage's `run()` with keywords; nothing else happens here.

Each command reads the config keys declared for it in `utrflow.settings`. It takes them from
`--config config/config.yaml` or, as the workflow passes them, `--params JSON` holding exactly
those keys (validated, defaults filled in); the rule builds that JSON from the same declaration,
so a config change reruns exactly the jobs that read it. A command that reads no settings takes
neither option and runs anywhere. A bad input ends with one line on stderr,
`utrflow: error: ...`, and exit status 1.

The framework is `framework`; each group module registers its stage's commands; stage modules
are imported inside the commands, so the reads and plates commands start without loading
TensorFlow or matplotlib.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Mapping
from typing import Any

from utrflow import io
from utrflow.cli import framework
from utrflow.cli.framework import COMMANDS, Command
from utrflow.errors import InputError
from utrflow.settings import ALL

__all__ = ["ALL", "COMMANDS", "GROUPS", "Command", "build_parser", "main"]

# The group modules, each registering its stage's commands, in the order `utrflow --help` lists
# them; a new group module is added here.
GROUPS = ("inputs", "simulate", "model", "evaluate", "reads", "plates", "design", "report")
for _group in GROUPS:
    importlib.import_module(f"utrflow.cli.{_group}")


def build_parser() -> argparse.ArgumentParser:
    return framework.build_parser((__doc__ or "utrflow").splitlines()[0])


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    cmd = COMMANDS[args.command]
    audit_log = os.environ.get("UTRFLOW_SETTINGS_AUDIT")
    try:
        cfg: Mapping[str, Any] = framework.settings(args, cmd)
        if audit_log:  # the settings audit, for the contract test alone
            from utrflow.cli.audit import Audit

            audit = Audit(audit_log, args.command, cfg)
            try:
                cmd.handler(args, audit.watched())
            finally:
                audit.stop()
            audit.write()
        else:
            cmd.handler(args, cfg)
    except InputError as err:
        print(f"utrflow: error: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # a full disk is the lab's to fix, not a bug: one line
        if err.errno not in io.DISK_FULL:
            raise
        print(f"utrflow: error: {io.disk_full(err, err.filename or args.command)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
