"""From a YAML file and `--set` overrides to a validated `RunConfig`, with errors a user can act on."""

import copy
import re
import reprlib
import types
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from mlpctl.config.schema import RunConfig
from mlpctl.config.suggest import did_you_mean, unknown_name
from mlpctl.errors import ConfigError
from mlpctl.files import read_regular


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> RunConfig:
    """Read, override, resolve paths, validate. Raises ConfigError with one line per problem."""
    path = Path(path)
    return config_from_mapping(read_raw(path), overrides, path)


def read_raw(path: Path) -> dict:
    """The config file's mapping as written, its data path made absolute (relative to the file)."""
    raw = read_yaml(path)
    _resolve_data_path(raw, path.parent)
    return raw


def config_from_mapping(raw: dict, overrides: Sequence[str] = (), path: str | Path = "config") -> RunConfig:
    """Validate a config mapping (it is not changed) after `--set` overrides. `path` is the file
    it came from: it names it in error messages, and a relative data path is relative to it."""
    raw = copy.deepcopy(raw)
    for assignment in overrides:
        apply_override(raw, assignment)
    _resolve_data_path(raw, Path(path).parent)
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as exc:
        lines = [f"{path}: {describe(error)}" for error in exc.errors()]
        raise ConfigError("\n".join(lines)) from None
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


MAX_CONFIG_BYTES = 1_000_000  # a config is a page or two; a bigger file is not one
MAX_CONFIG_VALUES = 100_000  # after YAML aliases are expanded (a "billion laughs" is billions)


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a key given twice in one mapping is an error (PyYAML
    keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_yaml(path: Path) -> dict:
    """A YAML file's mapping, read bounded and strictly (duplicate keys, aliases that explode, non-UTF-8 refused)."""
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{path}: {path.stat().st_size} bytes is too big for a config file "
                              f"(at most {MAX_CONFIG_BYTES})")
        text = read_regular(path, MAX_CONFIG_BYTES, ConfigError).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the config as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys, got {type(raw).__name__}")
    _check_expanded_size(raw, path)
    return raw


def _check_expanded_size(raw: Any, path: Path) -> None:
    """Refuse a config whose YAML aliases expand it past MAX_CONFIG_VALUES values, or refer to
    themselves, before anything walks it in full (validation, an error message)."""
    sizes: dict[int, int] = {}

    def size(node: Any, open_nodes: frozenset) -> int:
        if not isinstance(node, (dict, list)):
            return 1
        if id(node) in open_nodes:
            raise ConfigError(f"{path}: a YAML alias refers to itself")
        if id(node) not in sizes:
            children = [*node.keys(), *node.values()] if isinstance(node, dict) else node
            inner = open_nodes | {id(node)}
            sizes[id(node)] = 1 + sum(min(size(child, inner), MAX_CONFIG_VALUES + 1) for child in children)
        return sizes[id(node)]

    if size(raw, frozenset()) > MAX_CONFIG_VALUES:
        raise ConfigError(f"{path}: the config expands to more than {MAX_CONFIG_VALUES} values "
                          f"(YAML aliases?); a config is far smaller")


def apply_override(raw: dict, assignment: str) -> None:
    """Apply one `a.b.c=value` to the raw config; the value is parsed as a YAML scalar.

    Missing sections are created and then checked by the schema like any other key, so an
    unknown key gets the same "did you mean" error as in the file. List items go by index.
    """
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set {assignment!r}: expected KEY=VALUE, e.g. training.epochs=5")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(f"--set {assignment!r}: the value is not valid YAML") from None
    set_key(raw, key.strip(), value, f"--set {assignment!r}")


def set_key(raw: dict, key: str, value: Any, label: str) -> None:
    """`raw`'s dotted `key` set to `value` (an override, from `--set` or a Python mapping);
    `label` names the override in errors."""
    parts = key.split(".")
    node: Any = raw
    for depth, part in enumerate(parts):
        here = ".".join(parts[: depth + 1])
        last = depth == len(parts) - 1
        if isinstance(node, list):
            index = _list_index(part, node, here, label)
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            parent = ".".join(parts[:depth])
            raise ConfigError(f"{label}: {parent} is a value, not a section")


def _list_index(part: str, items: list, here: str, label: str) -> int:
    if not re.fullmatch(r"\d+", part) or int(part) >= len(items):
        raise ConfigError(
            f"{label}: {here} is not an item; the list has {len(items)} "
            f"item(s), indices 0 to {len(items) - 1}"
        )
    return int(part)


def _resolve_data_path(raw: dict, base: Path) -> None:
    data = raw.get("data")
    if isinstance(data, dict) and isinstance(data.get("path"), str):
        data["path"] = str((base / data["path"]).resolve())


def describe(error: Mapping[str, Any]) -> str:
    """One line for one pydantic error: the user's field path, the problem, the bad value."""
    path, siblings = _walk(RunConfig, list(error["loc"]))
    where = ".".join(path) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        hint = did_you_mean(path[-1], siblings) or f" (valid keys here: {', '.join(siblings)})"
        return f"{where}: unknown key{hint}"
    if kind == "missing":
        return f"{where}: required key is missing"
    if kind == "literal_error":
        choices = re.findall(r"'([^']*)'", error["ctx"]["expected"])
        return f"{where}: {unknown_name('value', error['input'], choices)}"
    if kind == "union_tag_invalid":
        choices = re.findall(r"'([^']*)'", error["ctx"]["expected_tags"])
        return f"{where}.name: {unknown_name('name', error['ctx']['tag'], choices)}"
    message = error["msg"].removeprefix("Value error, ")
    field, _, problem = message.partition(": ")
    if kind == "value_error" and isinstance(error["input"], dict) and field in error["input"]:  # names its field
        return f"{where}.{field}: {problem}" if path else f"{field}: {problem}"
    if kind == "value_error":
        return f"{where}: {message}"
    return f"{where}: {message[:1].lower()}{message[1:]}, got {shown(error['input'])}"


_SHORT = reprlib.Repr()  # Python 3.11's takes no keyword arguments
_SHORT.maxlevel, _SHORT.maxdict, _SHORT.maxlist, _SHORT.maxstring, _SHORT.maxother = 3, 6, 6, 80, 80


def shown(value: Any, limit: int = 200) -> str:
    """A value in an error message: its repr, but never longer than `limit` characters, and
    never walked in full (a value can be huge)."""
    text = _SHORT.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _walk(model: type[BaseModel], loc: list) -> tuple[list[str], list[str]]:
    """Map pydantic's location to the path as written (no union tags) and the keys valid at its end."""
    shown: list[str] = []
    current: Any = model
    while loc:
        key = loc.pop(0)
        shown.append(str(key))
        if not loc:
            break
        if not is_model(current) or key not in current.model_fields:
            return shown, []
        current = _unwrap(current.model_fields[key].annotation, loc, shown)
    siblings = list(current.model_fields) if is_model(current) else []
    return shown, siblings


def _unwrap(annotation: Any, loc: list, shown: list[str]) -> Any:
    """Step through Optional, list items and tagged unions to the model a location continues in."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is list and loc and isinstance(loc[0], int):
        shown.append(str(loc.pop(0)))
        return _unwrap(args[0], loc, shown)
    if origin in (Union, types.UnionType):
        models = [arg for arg in args if is_model(arg)]
        if len(models) == 1:
            return models[0]
        for candidate in models:
            if loc and _tag_of(candidate) == loc[0]:
                loc.pop(0)
                return candidate
    return annotation


def _tag_of(model: type[BaseModel]) -> Any:
    field = model.model_fields.get("name")
    if field is not None and get_origin(field.annotation) is Literal:
        return get_args(field.annotation)[0]
    return None


def is_model(candidate: Any) -> bool:
    """Whether an annotation is one of the schema's sections (a pydantic model class)."""
    return isinstance(candidate, type) and issubclass(candidate, BaseModel)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """A config mapping as dotted keys -> values, as `--set` names them (`model.layers.0.units`);
    a list of mappings also gets `<key>.count`."""
    items: Iterable[tuple[str, Any]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        items = ((str(index), item) for index, item in enumerate(value))
    else:
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in items:
        flat.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    if isinstance(value, list):
        flat[f"{prefix}.count"] = len(value)
    return flat


def format_value(value: Any) -> str:
    """How a value is written in `key=value` (and in tables): YAML flow style, on one line;
    `apply_override` reads it back as the same value."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False)
    return text.strip().removesuffix("...").strip()


def resolved_yaml(config: RunConfig) -> str:
    """The config with every default filled in: `mlpctl train` on it repeats the run."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
