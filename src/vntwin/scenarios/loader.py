"""Reading specs from YAML or JSON while keeping where each value was written.

A planner fixes a bad spec faster when the error names the line: PyYAML's composed node
tree carries the start mark of every value, so the loader records ``path -> (line,
column)`` while reading and every later error (pydantic's, or the twin checks') is
reported as ``file:line:column: path: message``. JSON is read by the same YAML parser
(JSON is YAML), so JSON specs get line numbers too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
import yaml

from vntwin.errors import ValidationError
from vntwin.scenarios.spec import ScenarioSpec

PathKey = tuple[str | int, ...]
MAX_SPEC_BYTES = 2_000_000


@dataclass(frozen=True)
class Issue:
    """One problem in a spec, with where it is."""

    source: str
    path: PathKey
    message: str
    line: int | None = None
    column: int | None = None

    @property
    def where(self) -> str:
        """``file:line:column`` (or just the file when the line is unknown)."""
        if self.line is None:
            return self.source
        return f"{self.source}:{self.line}:{self.column or 1}"

    def text(self) -> str:
        """The issue as one line, like a compiler's."""
        return f"{self.where}: {format_path(self.path) or '(spec)'}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        """For JSON answers (problem+json ``errors``)."""
        return {"source": self.source, "line": self.line, "column": self.column,
                "path": format_path(self.path), "message": self.message}


class SpecError(ValidationError):
    """A spec was refused, before any work; ``issues`` say where and why."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues = list(issues)
        errors: dict[str, list[str]] = {}
        for issue in self.issues:
            key = f"{issue.where} {format_path(issue.path)}".strip()
            errors.setdefault(key, []).append(issue.message)
        super().__init__(errors, "invalid scenario spec:\n" + "\n".join(
            "  " + i.text() for i in self.issues))


def format_path(path: PathKey) -> str:
    """``("edits", 1, "area")`` as ``edits[1].area``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class LoadedSpec:
    """A validated spec with its text, source and line marks."""

    spec: ScenarioSpec
    source: str
    text: str
    marks: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def issue(self, path: PathKey, message: str) -> Issue:
        """An issue at ``path``, placed on the nearest line the loader recorded."""
        return locate(self.source, self.marks, path, message)


def locate(source: str, marks: dict[PathKey, tuple[int, int]], path: PathKey,
           message: str) -> Issue:
    """An issue at the deepest recorded ancestor of ``path``."""
    probe = tuple(path)
    while probe and probe not in marks:
        probe = probe[:-1]
    line, column = marks.get(probe, (None, None))
    return Issue(source, tuple(path), message, line, column)


def _walk(node: yaml.Node, path: PathKey, marks: dict[PathKey, tuple[int, int]],
          issues: list[Issue], source: str) -> None:
    marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                issues.append(Issue(source, (*path, key), "key given twice",
                                    key_node.start_mark.line + 1,
                                    key_node.start_mark.column + 1))
            seen.add(key)
            _walk(value_node, (*path, key), marks, issues, source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), marks, issues, source)


def parse_text(text: str, source: str) -> tuple[Any, dict[PathKey, tuple[int, int]]]:
    """The data of a YAML/JSON document and its line marks; syntax errors name the line."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SPEC_BYTES:
        raise SpecError([Issue(source, (), f"spec larger than {MAX_SPEC_BYTES:,} bytes")])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise SpecError([Issue(source, (), f"not valid YAML/JSON: {exc.problem or exc}",
                               mark.line + 1 if mark else None,
                               mark.column + 1 if mark else None)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Issue(source, (), f"not valid YAML/JSON: {exc}")]) from None
    marks: dict[PathKey, tuple[int, int]] = {}
    issues: list[Issue] = []
    if node is not None:
        _walk(node, (), marks, issues, source)
    if issues:
        raise SpecError(issues)
    return data, marks


def _pydantic_path(data: Any, loc: Sequence[str | int]) -> PathKey:
    """Pydantic's ``loc`` as a path into the data: union tags and model names that pydantic
    inserts (``edits.1.scale.factor``) are skipped.
    """
    out: list[str | int] = []
    current = data
    for part in loc:
        in_dict = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) \
            and 0 <= part < len(current)
        if in_dict or in_list:
            current = current[part]
            out.append(part)
    return tuple(out)


def validate_data(data: Any, source: str,
                  marks: dict[PathKey, tuple[int, int]] | None = None) -> ScenarioSpec:
    """The spec model of ``data``, or a :class:`SpecError` naming every bad value."""
    marks = marks or {}
    if not isinstance(data, dict):
        raise SpecError([locate(source, marks, (), "a spec is a mapping (name, title, "
                                                   "indicators, ...)")])
    try:
        return ScenarioSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        issues = []
        for error in exc.errors(include_url=False):
            path = _pydantic_path(data, error["loc"])
            message = str(error["msg"]).removeprefix("Value error, ")
            missing = error["type"] == "missing"
            if missing and error["loc"]:
                message = f"{error['loc'][-1]}: field required"
            elif error["type"] == "extra_forbidden":
                message = "unknown key (not in the spec schema)"
            issues.append(locate(source, marks, path, message))
        raise SpecError(issues) from None


def load_text(text: str, source: str = "<spec>") -> LoadedSpec:
    """Parse and validate one spec given as YAML or JSON text."""
    data, marks = parse_text(text, source)
    return LoadedSpec(validate_data(data, source, marks), source, text, marks)


def load_path(path: Path) -> LoadedSpec:
    """Parse and validate one spec file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError([Issue(str(path), (), f"cannot read: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError([Issue(str(path), (), f"spec larger than {MAX_SPEC_BYTES:,} bytes")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError([Issue(str(path), (), "not UTF-8 text")]) from None
    return load_text(text, str(path))


SCHEMA_FILE = "schema.json"


def spec_files(folder: Path) -> list[Path]:
    """The spec files of a folder: YAML, then JSON, by name; the JSON Schema left out."""
    return (sorted(folder.glob("*.y*ml"))
            + sorted(p for p in folder.glob("*.json") if p.name != SCHEMA_FILE))


def load_many(paths: Sequence[Path]) -> list[LoadedSpec]:
    """Every spec of a batch, or one :class:`SpecError` with the issues of all of them.

    A folder stands for its spec files (:func:`spec_files`), so ``examples/scenarios``
    runs every example without picking up the schema beside them.
    """
    loaded: list[LoadedSpec] = []
    issues: list[Issue] = []
    files = [f for path in paths for f in (spec_files(path) if path.is_dir() else [path])]
    for path in files:
        try:
            loaded.append(load_path(path))
        except SpecError as exc:
            issues.extend(exc.issues)
    return check_batch_names(loaded, issues)


def check_batch_names(loaded: list[LoadedSpec], issues: list[Issue]) -> list[LoadedSpec]:
    """``loaded`` when neither a spec nor a name clash has issues; else one SpecError.

    Scenario names key the stored results, so two specs of one batch may not share one.
    """
    names: dict[str, str] = {}
    for item in loaded:
        if item.spec.name in names:
            issues.append(item.issue(("name",), f"scenario name {item.spec.name!r} is also "
                                                f"used by {names[item.spec.name]}"))
        names.setdefault(item.spec.name, item.source)
    if issues:
        raise SpecError(issues)
    return loaded
