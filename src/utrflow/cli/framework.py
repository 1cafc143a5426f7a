"""The command framework: a registry of subcommands, each with its help, its file arguments and
its handler; the parser built from it; the settings a command reads, loaded and checked.

A group module (`utrflow.cli.reads`, ...) registers its commands with `@command`; the config
keys a command reads are declared beside the Settings types (`utrflow.settings`), where the
workflow reads them too. Adding a command: a handler in a group module (a new group module is
listed in `utrflow.cli.GROUPS`) and, if it reads settings, a line in `utrflow.settings.DECLARED`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from utrflow import config as config_module
from utrflow.errors import InputError
from utrflow.settings import declared

Handler = Callable[[argparse.Namespace, Mapping[str, Any]], None]
Argument = tuple[str, dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Command:
    """A subcommand: what it does, the stage call, its file arguments and the config keys it
    reads (see `utrflow.config.select`)."""

    help: str
    handler: Handler
    arguments: tuple[Argument, ...]
    settings: tuple[str, ...]


COMMANDS: dict[str, Command] = {}


def command(name: str, help_text: str, *arguments: Argument) -> Callable[[Handler], Handler]:
    """Register a subcommand with its file arguments; its settings are its declaration."""

    def register(handler: Handler) -> Handler:
        if name in COMMANDS:
            raise ValueError(f"command {name!r} registered twice")
        COMMANDS[name] = Command(help_text, handler, arguments, declared(name))
        return handler

    return register


def path(flag: str, help_text: str, required: bool = True) -> Argument:
    return flag, {"help": help_text, "required": required, "type": Path}


def paths(flag: str, help_text: str, required: bool = True) -> Argument:
    nargs = "+" if required else "*"
    default: dict[str, Any] = {} if required else {"default": []}
    return flag, {"help": help_text, "required": required, "type": Path, "nargs": nargs, **default}


THREADS: Argument = ("--threads", {"type": int, "default": 1, "help": "CPU threads (default 1)"})


def build_parser(description: str) -> argparse.ArgumentParser:
    """One subparser per registered command; `--config`/`--params` for those reading settings."""
    parser = argparse.ArgumentParser(prog="utrflow", description=description)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, cmd in COMMANDS.items():
        text = _literal(cmd.help)
        p = sub.add_parser(name, help=text, description=text)
        if cmd.settings:
            source = p.add_mutually_exclusive_group()
            source.add_argument(
                "--config",
                type=Path,
                default=Path("config/config.yaml"),
                help="config file (default: config/config.yaml)",
            )
            source.add_argument(
                "--params", help="the config keys this command reads, as JSON (what rules pass)"
            )
        for flag, options in cmd.arguments:
            p.add_argument(flag, **{**options, "help": _literal(options.get("help", ""))})
    return parser


def _literal(text: str) -> str:
    """Help text as argparse prints it verbatim: it reads '%' as a format (e.g. '100 % of')."""
    return text.replace("%", "%%")


def settings(args: argparse.Namespace, cmd: Command) -> dict[str, Any]:
    """The config keys `cmd` reads, from --params (exactly those) or --config."""
    if not cmd.settings:
        return {}
    if args.params is not None:
        try:
            raw = json.loads(args.params)
        except json.JSONDecodeError as err:
            raise InputError(f"--params: not valid JSON: {err.msg}") from None
        if not isinstance(raw, dict):
            raise InputError("--params: expected a JSON object of config keys")
        unread = config_module.unread_keys(raw, cmd.settings)
        if unread:
            raise InputError(f"--params: key '{unread[0]}' is not read by `{args.command}`")
        full = config_module.validate(raw, source="--params")
    else:
        from utrflow import preflight  # a whole config's checks: the workflow's jobs pass --params

        full = preflight.load(args.config)
    return config_module.select(full, cmd.settings)
