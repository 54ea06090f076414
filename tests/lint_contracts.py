"""Import contracts over the packages a registration lists, for lint-imports (pyproject.toml).

Rituals are listed once, in `dialogs.rituals.PACKAGES`, and platforms once, in
`bot.server.PLATFORMS`. These contract types read those tuples from the source (without
importing it), so a new ritual or platform is checked as soon as it is registered, and
pyproject.toml names none of them:

- `registered_independence`: the registered packages do not import each other (an
  independence contract whose `modules` are the registration's);
- `registered_core`: the modules beside the registered packages, in their parent package
  (the engine's core, for the rituals), import none of them.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.independence import IndependenceContract
from importlinter.domain import fields
from importlinter.domain.contract import Contract

ROOT = Path(__file__).resolve().parent.parent


def registered(registration: str) -> tuple[str, ...]:
    """The module names a registration lists: "dialogs/rituals.py:PACKAGES" is the tuple of
    strings assigned to PACKAGES in that file."""
    path, _, name = registration.partition(":")
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            value = ast.literal_eval(node.value)
            if isinstance(value, tuple) and all(isinstance(item, str) for item in value):
                return value
    raise ValueError(f"{registration}: no tuple of module names assigned to {name}")


def core_modules(packages: tuple[str, ...]) -> list[str]:
    """The modules of the registered packages' parent that belong to none of them."""
    parents = {package.rpartition(".")[0] for package in packages}
    if len(parents) != 1:
        raise ValueError(f"registered packages with several parents: {sorted(parents)}")
    parent = parents.pop()
    folder = ROOT / parent.replace(".", "/")
    beside = [path for path in sorted(folder.iterdir()) if path.name != "__init__.py"]
    modules = [f"{parent}.{path.stem}" for path in beside if path.suffix == ".py"]
    subpackages = [f"{parent}.{path.name}" for path in beside if (path / "__init__.py").exists()]
    return modules + [name for name in subpackages if name not in packages]


class _Registered(Contract):
    """A contract whose module lists are filled from its `registration` before its fields are
    read."""

    registration = fields.StringField()

    def __init__(
        self, name: str, session_options: dict[str, Any], contract_options: dict[str, Any]
    ) -> None:
        packages = registered(contract_options["registration"])
        options = {**contract_options, **self.filled(packages)}
        super().__init__(name, session_options, options)

    @staticmethod
    def filled(packages: tuple[str, ...]) -> dict[str, list[str]]:
        raise NotImplementedError


class RegisteredIndependence(_Registered, IndependenceContract):
    type_name = "registered_independence"

    @staticmethod
    def filled(packages: tuple[str, ...]) -> dict[str, list[str]]:
        return {"modules": list(packages)}


class RegisteredCore(_Registered, ForbiddenContract):
    type_name = "registered_core"

    @staticmethod
    def filled(packages: tuple[str, ...]) -> dict[str, list[str]]:
        return {"source_modules": core_modules(packages), "forbidden_modules": list(packages)}
