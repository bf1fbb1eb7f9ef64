"""The pinned public interface: a griffe snapshot of every distribution's surface.

    python tools/api.py check      fail if the code's surface differs from api.json
    python tools/api.py update     rewrite packages/<dist>/api.json from the code
    python tools/api.py breaking   ``griffe check`` each package against the last tag

The surface of an import package is what its ``__all__`` names (and the
``__all__`` of each public submodule): functions with their full signatures,
classes with their bases and public members (members a private
``_NameMixin`` base gives the class count as its own), attributes with
their annotations. Any change to it must come with a reviewed edit of api.json.
"""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import griffe
from _repo import ROOT, Dist, dists

_PUBLIC_DUNDERS = {
    "__init__",
    "__call__",
    "__enter__",
    "__exit__",
    "__aenter__",
    "__aexit__",
    "__iter__",
    "__aiter__",
    "__anext__",
    "__next__",
    "__getitem__",
    "__setitem__",
    "__contains__",
    "__len__",
    "__await__",
    "__getattr__",
}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _signature(func: Any) -> str:
    parts: list[str] = []
    previous = None
    for param in func.parameters:
        kind = param.kind.value if param.kind is not None else "positional or keyword"
        if previous == "positional-only" and kind != "positional-only":
            parts.append("/")
        if kind == "keyword-only" and previous not in {"keyword-only", "variadic positional"}:
            parts.append("*")
        prefix = {"variadic positional": "*", "variadic keyword": "**"}.get(kind, "")
        text = prefix + param.name
        if param.annotation is not None:
            text += f": {param.annotation}"
        if param.default is not None and kind not in {"variadic positional", "variadic keyword"}:
            text += f" = {param.default}" if param.annotation is not None else f"={param.default}"
        parts.append(text)
        previous = kind
    if previous == "positional-only":
        parts.append("/")
    returns = f" -> {func.returns}" if func.returns is not None else ""
    return f"({', '.join(parts)}){returns}"


def _base_path(base: Any) -> str:
    return str(getattr(base, "canonical_path", base))


def _private_mixins(cls: Any) -> dict[str, Any]:
    """The private mixins among ``cls``'s bases (``squall...._NameMixin``), by path.

    A private mixin is how a large class is split over several modules: its
    members belong to the public class that inherits it, so the snapshot
    lists them there and leaves the mixin out of the bases.  Other private
    bases (shared plumbing such as ``_Event``) stay as they are.
    """
    wanted = set()
    for base in cls.bases:
        path = _base_path(base)
        tail = path.rsplit(".", 1)[-1]
        if path.startswith("squall.") and tail.startswith("_") and tail.endswith("Mixin"):
            wanted.add(path)
    if not wanted:
        return {}
    return {base.path: base for base in cls.resolved_bases if base.path in wanted}


def _members_with_mixins(cls: Any, mixins: dict[str, Any]) -> dict[str, Any]:
    """``cls``'s own members over those its private mixins define at runtime.

    Later bases first, so that (as in the MRO) an earlier base wins and the
    class's own members win over all; a mixin's ``if TYPE_CHECKING:``
    declarations of what it expects from the class are not members.
    """
    gathered: dict[str, Any] = {}
    for base in reversed(cls.resolved_bases if mixins else []):
        if base.path in mixins:
            inherited = _members_with_mixins(base, _private_mixins(base))
            gathered.update((name, m) for name, m in inherited.items() if m.runtime)
    gathered.update(cls.members)
    return gathered


def _describe(obj: Any, depth: int = 0) -> dict[str, Any]:
    if obj.is_alias:
        try:
            target = obj.final_target
        except (griffe.AliasResolutionError, griffe.CyclicAliasError):
            return {"kind": "alias", "target": obj.target_path}
        if not target.path.startswith("squall."):
            return {"kind": "alias", "target": target.path}
        obj = target
    kind = obj.kind.value
    if kind == "function":
        labels = sorted(
            label
            for label in obj.labels
            if label in {"classmethod", "staticmethod", "property", "async", "abstractmethod"}
        )
        entry: dict[str, Any] = {"kind": "function", "signature": _signature(obj)}
        if labels:
            entry["labels"] = labels
        return entry
    if kind == "class":
        mixins = _private_mixins(obj)
        bases = [str(b) for b in obj.bases if _base_path(b) not in mixins]
        entry = {"kind": "class", "bases": bases}
        if depth == 0:
            members = {}
            for name, member in sorted(_members_with_mixins(obj, mixins).items()):
                if name.startswith("_") and name not in _PUBLIC_DUNDERS:
                    continue
                if member.is_alias and not name.startswith("_"):
                    members[name] = {"kind": "alias", "target": member.target_path}
                    continue
                members[name] = _describe(member, depth + 1)
            entry["members"] = members
        return entry
    if kind == "attribute":
        return {"kind": "attribute", "annotation": _text(obj.annotation)}
    if kind == "module":
        return {"kind": "module", "path": obj.path}
    return {"kind": kind}


def _exports(module: Any) -> list[str]:
    if module.exports is None:
        return []
    return sorted(str(name).strip("'\"") for name in module.exports)


def _walk(module: Any, out: dict[str, Any]) -> None:
    names = _exports(module)
    out[module.path] = {name: _describe(module[name]) for name in names}
    for name, member in sorted(module.modules.items()):
        if not name.startswith("_"):
            _walk(member, out)


def surface(dist: Dist) -> dict[str, Any]:
    """The public surface of a distribution, module by module."""
    loader = griffe.GriffeLoader(search_paths=[str(dist.path / "src")])
    out: dict[str, Any] = {}
    for package in dist.import_packages:
        module = loader.load(f"squall.{package}")
        loader.resolve_aliases(implicit=False, external=None)
        _walk(module, out)
    return dict(sorted(out.items()))


def _render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def main(argv: list[str]) -> None:
    command = argv[0] if argv else ""
    table = dists()
    if command in {"check", "update"}:
        failed = []
        for folder, dist in table.items():
            path = dist.path / "api.json"
            text = _render(surface(dist))
            if command == "update":
                path.write_text(text)
                print(f"wrote {path.relative_to(ROOT)}")
                continue
            old = path.read_text() if path.exists() else ""
            if old != text:
                failed.append(folder)
                sys.stdout.writelines(
                    difflib.unified_diff(
                        old.splitlines(True),
                        text.splitlines(True),
                        f"{path.relative_to(ROOT)} (committed)",
                        "(code)",
                        n=2,
                    )
                )
        if failed:
            raise SystemExit(
                f"public surface changed in: {', '.join(failed)}. If deliberate, run "
                "`python tools/api.py update` and commit the api.json diff for review."
            )
        if command == "check":
            print(f"api: the public surface of {len(table)} distributions matches api.json")
    elif command == "breaking":
        tag = subprocess.run(
            ["git", "describe", "--tags", "--abbrev=0"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        if not tag:
            print("api: no release tag yet: nothing to check breaking changes against")
            return
        for dist in table.values():
            for package in dist.import_packages:
                subprocess.run(
                    [
                        "griffe",
                        "check",
                        f"squall.{package}",
                        "-a",
                        tag,
                        "-s",
                        str((dist.path / "src").relative_to(ROOT)),
                    ],
                    cwd=ROOT,
                    check=True,
                )
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(argv=sys.argv[1:])
