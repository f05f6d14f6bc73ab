"""GitHub's OpenAPI description, loaded once per process: route matching and request-body validation.

OpenAPI 3.0 schemas are converted to JSON Schema (draft 4, the closest draft): `nullable` becomes a
"null" type, `example`/`x-*`/`discriminator` are dropped, and `$ref: #/components/...` is resolved
against a root document that carries the converted `components.schemas`.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

DEFAULT_OPENAPI_PATH = (
    Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "github" / "openapi" / "api.github.com.json"
)
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_DROPPED_KEYWORDS = {
    "example",
    "examples",
    "discriminator",
    "xml",
    "externalDocs",
    "deprecated",
    "readOnly",
    "writeOnly",
    "nullable",
}
_NAME_MAPS = {"properties", "patternProperties", "definitions"}
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")

_cache: dict[Path, OpenAPISpec] = {}
_cache_lock = threading.Lock()


def to_json_schema(node: Any) -> Any:
    """Convert one OpenAPI 3.0 schema (recursively) into JSON Schema draft 4."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED_KEYWORDS or key.startswith("x-"):
            continue
        if key in _NAME_MAPS and isinstance(value, dict):
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        else:
            out[key] = to_json_schema(value)
    if node.get("nullable") is True:
        out = _nullable(out)
    return out


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "type" in schema and "$ref" not in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema["type"] = [*types, "null"] if "null" not in types else types
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return False
    return True


FORMAT_CHECKER = jsonschema.FormatChecker(formats=())
FORMAT_CHECKER.checks("date-time")(_is_date_time)


@dataclass
class Operation:
    """One operation of the description: where it lives and what it accepts."""

    method: str
    template: str
    pattern: re.Pattern[str]
    literal_segments: int
    spec: dict[str, Any]
    _validator: jsonschema.protocols.Validator | None = field(default=None, repr=False)

    @property
    def docs_url(self) -> str:
        return self.spec.get("externalDocs", {}).get("url", "https://docs.github.com/rest")

    def json_body_schema(self) -> dict[str, Any] | None:
        content = self.spec.get("requestBody", {}).get("content", {})
        return content.get("application/json", {}).get("schema")

    @property
    def body_required(self) -> bool:
        return bool(self.spec.get("requestBody", {}).get("required"))


class OpenAPISpec:
    """The parsed description: operations by method and path template, and body validators."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as handle:
            document = json.load(handle)
        self.path = path
        self.components = {"schemas": to_json_schema(document["components"]["schemas"])}
        self.examples: dict[str, Any] = document["components"]["examples"]
        self.operations: dict[str, list[Operation]] = {}
        self._lock = threading.Lock()
        for template, item in document["paths"].items():
            for method, spec in item.items():
                if method in HTTP_METHODS:
                    self.operations.setdefault(method.upper(), []).append(_operation(method, template, spec))
        for ops in self.operations.values():
            ops.sort(key=lambda op: -op.literal_segments)

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation serving `method path`, preferring literal segments over parameters."""
        for operation in self.operations.get(method.upper(), []):
            found = operation.pattern.fullmatch(path)
            if found:
                return operation, found.groupdict()
        return None

    def path_exists(self, path: str) -> bool:
        return any(op.pattern.fullmatch(path) for ops in self.operations.values() for op in ops)

    def body_errors(self, operation: Operation, body: Any) -> list[str]:
        """Messages for every way `body` breaks the operation's JSON request schema (best first)."""
        validator = self._validator_for(operation)
        if validator is None:
            return []
        errors = list(validator.iter_errors(body))
        if not errors:
            return []
        best = best_match(errors)
        messages = [_describe(best)]
        messages += [_describe(error) for error in errors if error is not best]
        return messages

    def example(self, name: str) -> Any:
        """A deep copy of `components.examples[name].value`."""
        return copy.deepcopy(self.examples[name]["value"])

    def component_errors(self, name: str, instance: Any) -> list[str]:
        """How `instance` breaks `components.schemas[name]` (used to check the stand-in's own answers)."""
        root = {"allOf": [{"$ref": f"#/components/schemas/{name}"}], "components": self.components}
        validator = jsonschema.Draft4Validator(root, format_checker=FORMAT_CHECKER)
        return [_describe(error) for error in validator.iter_errors(instance)]

    def _validator_for(self, operation: Operation) -> jsonschema.protocols.Validator | None:
        with self._lock:
            if operation._validator is None:
                schema = operation.json_body_schema()
                if schema is None:
                    return None
                root = {"allOf": [to_json_schema(schema)], "components": self.components}
                operation._validator = jsonschema.Draft4Validator(root, format_checker=FORMAT_CHECKER)
            return operation._validator


def _operation(method: str, template: str, spec: dict[str, Any]) -> Operation:
    regex = ""
    for piece in re.split(r"(\{[^}]+\})", template):
        if piece.startswith("{") and piece.endswith("}"):
            name = re.sub(r"\W", "_", piece[1:-1])
            # GitHub's file paths (`contents/{path}`) span several segments; other parameters do not.
            regex += f"(?P<{name}>.+?)" if template.endswith("/{path}") and name == "path" else f"(?P<{name}>[^/]+?)"
        else:
            regex += re.escape(piece)
    literals = sum(1 for segment in template.split("/") if segment and "{" not in segment)
    return Operation(method.upper(), template, re.compile(regex), literals, spec)


def _describe(error: jsonschema.ValidationError, limit: int = 400) -> str:
    where = "/".join(str(part) for part in error.absolute_path)
    message = error.message if len(error.message) <= limit else error.message[:limit] + "..."
    return f"For '{where}', {message}" if where else message


def load_spec(path: Path | None = None) -> OpenAPISpec:
    """The description at `path` (default: the shared fixture), parsed at most once per process."""
    resolved = (path or DEFAULT_OPENAPI_PATH).resolve()
    with _cache_lock:
        if resolved not in _cache:
            _cache[resolved] = OpenAPISpec(resolved)
        return _cache[resolved]
