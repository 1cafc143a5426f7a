"""The layout holds: every top-level module of src/utrflow is named in the import contracts
(pyproject.toml), and docs/layout.md names what exists and every package there is."""

from __future__ import annotations

import pkgutil
import re
import tomllib

from conftest import REPO

PACKAGE = REPO / "src" / "utrflow"
CONTRACTS = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"][
    "contracts"
]
TOP = {m.name for m in pkgutil.iter_modules([str(PACKAGE)])} - {"__main__"}
OUTSIDE_RUNTIME = {"cli", "simulate"}  # the command line and the simulator
LAYOUT = (REPO / "docs" / "layout.md").read_text()


def contract(prefix: str) -> dict:
    (found,) = [c for c in CONTRACTS if c["name"].startswith(prefix)]
    return found


def named(modules: list[str]) -> set[str]:
    return {m.removeprefix("utrflow.") for m in modules}


def test_the_tree_has_the_modules_the_contracts_are_about() -> None:
    """Without this the checks below could pass on a tree read from the wrong place."""
    assert {"cli", "simulate", "reads", "plates", "model", "preflight", "sheets"} <= TOP


def test_every_top_level_module_is_in_the_contracts() -> None:
    """A new top-level module must be placed: in the runtime (which never imports the simulator
    or the command line) and on one side of the shared base's contract."""
    runtime = TOP - OUTSIDE_RUNTIME
    assert named(contract("The runtime never imports the simulator")["source_modules"]) == runtime
    assert named(contract("No stage imports the command line")["source_modules"]) == TOP - {"cli"}
    base = contract("The shared base")
    sides = named(base["source_modules"]), named(base["forbidden_modules"])
    assert not sides[0] & sides[1]
    assert sides[0] | sides[1] == TOP
    assert {"reads", "plates"} == named(contract("Reads and plates are independent")["modules"])


def layout_entries() -> list[tuple[str, str, str]]:
    """(where, first column, description) of each entry of the layout's tree: `where` is the
    repository for a line at column 0, src/utrflow for an indented one."""
    block = LAYOUT.split("```")[1]
    entries: list[tuple[str, str, str]] = []
    for line in block.splitlines()[1:]:
        match = re.match(r"^( *)(\S.*?)(?: {2,}(.*))?$", line)
        if not match:
            continue
        indent, first, text = match.group(1), match.group(2), match.group(3) or ""
        if len(indent) > 4:  # a description's continuation line
            entries[-1] = (entries[-1][0], entries[-1][1], f"{entries[-1][2]} {first}")
            continue
        entries.append(("package" if indent else "repo", first, text))
    return entries


def test_every_path_the_layout_names_exists() -> None:
    entries = layout_entries()
    assert len(entries) > 20
    for where, first, _ in entries:
        base = PACKAGE if where == "package" else REPO
        for name in first.split(", "):
            found = list(base.glob(name)) if "*" in name else [base / name]
            assert found and all(p.exists() for p in found), f"docs/layout.md names {name}"


def test_the_layout_names_every_module_and_package() -> None:
    """Every top-level module of src/utrflow has its own entry; every package below those is
    named in its parent's description (`plates/  exports (...), reader, ...`)."""
    entries = layout_entries()
    listed = {
        name.rstrip("/").removesuffix(".py")
        for where, first, _ in entries
        if where == "package"
        for name in first.split(", ")
    }
    assert listed == TOP, f"in the tree, not in docs/layout.md: {sorted(TOP - listed)}"
    described = {first.rstrip("/"): text for where, first, text in entries if where == "package"}
    for init in PACKAGE.glob("*/*/__init__.py"):
        parent, name = init.parent.parent.name, init.parent.name
        assert re.search(rf"\b{name}\b", described[parent]), (
            f"docs/layout.md: {parent}/ does not name its package {name}"
        )
