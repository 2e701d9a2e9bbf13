"""The shape of the code, as drawn in the README: imports run downward only, with no circles.

Layers, bottom to top: accounts → crm's shared blocks → leads → deals → the features that
span leads and deals (``crm.followups``, later ``crm.dashboard``) → project wiring. Pages
(views, forms, URLs, template tags, admin, management commands) sit above every app's
services and may read from any layer, but they are still part of the no-circles rule.

The graph is built from the source with ``ast`` alone: every ``import`` and ``from …
import`` anywhere in a module (inside functions too), tests and migrations excluded.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["accounts", "crm", "leads", "deals"]

ACCOUNTS, SHARED, LEADS, DEALS, FEATURES, WIRING = range(6)
LAYER_NAMES = [
    "accounts",
    "crm's shared blocks",
    "leads",
    "deals",
    "cross-record features",
    "wiring",
]
# Cross-record features: packages of crm that use both leads and deals.
FEATURE_PACKAGES = ("crm.followups", "crm.dashboard", "crm.home")
# The REST API (crm.api) is wiring too: it calls the services of every app, as pages do.
WIRING_MODULES = (
    "crm.settings",
    "crm.urls",
    "crm.celery",
    "crm.wsgi",
    "crm.asgi",
    "crm.views",
    "crm.api",
)
# Modules that build pages (or run as commands): they may read from any layer.
PAGE_NAMES = {"views", "forms", "urls", "admin"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def _owner(name: str) -> str | None:
    """The module of ours that an imported name lives in (``a.b.c`` → ``a.b`` if ``c`` is
    a function of module ``a.b``)."""
    while name and name not in modules():
        name = name.rpartition(".")[0]
    return name or None


@cache
def imports_of(module: str) -> frozenset[str]:
    path = modules()[module]
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            owner = _owner(target)
            if owner is not None and owner != module:
                found.add(owner)
    return frozenset(found)


def is_page(module: str) -> bool:
    parts = module.split(".")
    return (
        parts[-1] in PAGE_NAMES
        or "templatetags" in parts
        or "management" in parts
        or module.startswith(WIRING_MODULES)
    )


def layer_of(module: str) -> int:
    if module.startswith(WIRING_MODULES) or module in ("crm", "crm.apps"):
        return WIRING
    if module.startswith(FEATURE_PACKAGES):
        return FEATURES
    top = module.split(".")[0]
    return {"accounts": ACCOUNTS, "crm": SHARED, "leads": LEADS, "deals": DEALS}[top]


def find_cycles() -> list[list[str]]:
    """Every strongly connected component of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(imports_of(node)):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for module in sorted(modules()):
        if module not in index:
            visit(module)
    return components


def upward_imports() -> list[str]:
    found = []
    for module in sorted(modules()):
        if is_page(module) or layer_of(module) == WIRING:
            continue
        for target in sorted(imports_of(module)):
            if layer_of(target) > layer_of(module) or (is_page(target) and not is_page(module)):
                found.append(
                    f"{module} ({LAYER_NAMES[layer_of(module)]}) imports {target} "
                    f"({'a page' if is_page(target) else LAYER_NAMES[layer_of(target)]})"
                )
    return found


def test_the_graph_sees_every_kind_of_import() -> None:
    """The graph itself: absolute and relative imports, at module level and inside
    functions, resolve to our modules (so the checks below cannot pass by missing them)."""
    assert "crm.followups.services" in imports_of("crm.followups.receivers")
    assert "leads.models" in imports_of("deals.models")
    assert "crm.followups.receivers" in imports_of("crm.followups.apps")  # inside ready()
    assert layer_of("crm.followups.services") == FEATURES
    assert layer_of("crm.notifications") == SHARED
    assert layer_of("crm.settings.base") == WIRING
    assert is_page("leads.views")
    assert is_page("crm.followups.emails.views")
    assert is_page("deals.management.commands.generate_deals")
    assert not is_page("leads.services")
    assert not is_page("leads.sla.tasks")


def test_no_import_cycles() -> None:
    assert find_cycles() == []


def test_imports_run_downward() -> None:
    assert upward_imports() == []


def test_leads_does_not_need_deals() -> None:
    """A lead is a record of its own: only the pages of ``leads`` may read deals."""
    offenders = [
        f"{module} imports {target}"
        for module in sorted(modules())
        if module.startswith("leads") and not is_page(module)
        for target in imports_of(module)
        if target.startswith("deals")
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "package",
    sorted(
        module
        for module, path in modules().items()
        if path.name == "__init__.py"
        and not module.endswith(("management", "commands", "templatetags", "settings"))
    ),
)
def test_capability_packages_say_what_they_own(package: str) -> None:
    """Each capability package opens with a docstring that says what it owns."""
    assert ast.get_docstring(ast.parse(modules()[package].read_text())), package
