"""The packages point one way: the import graph between them, drawn from the source with
`ast`, has no cycle, and its edges follow the layering: the composition root (`ingest`)
and the processes (`workers`) above the service, `core` and the store beneath the domain.

A package is a folder of `service/` (`service.core`, `service.store`, ...) or one of the
top-level `workers`, `ingest` and `devtools`. Every import counts, wherever it sits (inside a
function or under `TYPE_CHECKING` too): a reader follows them all.
"""

from __future__ import annotations

import ast
import graphlib
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP_LEVEL = ("service", "workers", "ingest", "devtools")
# Edges: (importing package, imported package) -> the files that make the edge.
Graph = dict[tuple[str, str], set[str]]


def package_of(module: str) -> str | None:
    """The package a dotted module name belongs to; None outside the project."""
    parts = module.split(".")
    if parts[0] not in TOP_LEVEL:
        return None
    if parts[0] == "service":
        return ".".join(parts[:2]) if len(parts) > 1 else None
    return parts[0]


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved; `from a import b` counts as
    both `a` and `a.b`, as `b` may be a module."""
    module = _module_name(path, root)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            source = ".".join([*base, *([node.module] if node.module else [])])
            found.add(source)
            found.update(f"{source}.{alias.name}" for alias in node.names)
    return found


def import_graph(root: Path = ROOT) -> Graph:
    graph: Graph = defaultdict(set)
    for top in TOP_LEVEL:
        for path in sorted((root / top).rglob("*.py")):
            importer = package_of(_module_name(path, root))
            for module in imported_modules(path, root):
                imported = package_of(module)
                if importer and imported and imported != importer:
                    graph[importer, imported].add(str(path.relative_to(root)))
    return graph


def cycle(graph: Graph) -> list[str] | None:
    """A cycle of packages (its first package repeated at its end), or None."""
    sorter = graphlib.TopologicalSorter[str]()
    for importer, imported in graph:
        sorter.add(importer, imported)
    try:
        sorter.prepare()
    except graphlib.CycleError as error:
        return list(reversed(error.args[1]))
    return None


def imports_of(graph: Graph, package: str) -> dict[str, list[str]]:
    """What `package` imports of the others, each with the files that import it."""
    return {
        imported: sorted(files)
        for (importer, imported), files in sorted(graph.items())
        if importer == package
    }


def test_no_two_packages_import_each_other_even_through_others():
    graph = import_graph()
    found = cycle(graph)
    edges = (
        {f"{a} -> {b}": sorted(graph[a, b]) for a, b in zip(found, found[1:], strict=False)}
        if found
        else {}
    )
    assert found is None, edges


def test_nothing_in_service_imports_the_composition_root_or_the_processes():
    # The CLI (`ingest`), the worker processes (`workers`) and the development tools wire
    # the service together; the service cannot know them.
    graph = import_graph()
    outward = {
        (importer, imported): sorted(files)
        for (importer, imported), files in graph.items()
        if importer.startswith("service.") and imported in ("ingest", "workers", "devtools")
    }
    assert outward == {}


def test_core_knows_nothing_of_the_domain():
    # The Runtime it defines holds a Graph API client, which itself imports nothing of ours.
    assert set(imports_of(import_graph(), "service.core")) <= {"service.instagram"}


def test_the_graph_api_client_imports_nothing_of_the_service():
    assert imports_of(import_graph(), "service.instagram") == {}


def test_the_store_knows_rows_not_the_domain():
    assert set(imports_of(import_graph(), "service.store")) <= {"service.core"}


def test_a_cycle_through_a_third_package_is_found(tmp_path):
    # The test above can fail: core -> store -> dms -> core, one import in a function.
    for name, source in {
        "core/runtime.py": "from service.store import rows\n",
        "store/rows.py": "import service.dms.sending\n",
        "dms/sending.py": "def send():\n    from ..core import runtime\n",
    }.items():
        path = tmp_path / "service" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    found = cycle(import_graph(tmp_path))
    assert found is not None
    assert set(found) == {"service.core", "service.store", "service.dms"}
    assert found[0] == found[-1]
