"""The README's config reference, generated from the schema so the two cannot drift apart.

    python -m mlpctl.config.reference               # prints the Markdown
    python -m mlpctl.config.reference README.md     # replaces the block in README.md

A test compares the block in README.md with what this generates.
"""

import sys
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel

from mlpctl import catalog
from mlpctl.config.loading import is_model
from mlpctl.config.schema import Component, RunConfig

BEGIN, END = "<!-- reference:begin -->", "<!-- reference:end -->"


def reference_markdown() -> str:
    """The README's config reference, generated from the schema's fields (the README holds it between its markers)."""
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    rows += _rows(RunConfig, "")
    names = [
        "",
        f"Activations: {_codes(catalog.ACTIVATIONS)}.",
        "",
        "Activations that take parameters or are layers: " + "; ".join(
            f"`{n}`" + (f" ({', '.join(p)})" if p else "") for n, p in catalog.ACTIVATION_LAYERS.items())
        + f". Refused (no useful gradient): {_codes(catalog.NO_GRADIENT)}.",
        "",
        "Initialisers: " + "; ".join(
            f"`{n}`" + (f" ({', '.join(p)})" if p else "") for n, p in catalog.INITIALIZERS.items()) + ".",
        "",
        f"Losses: {_codes([*catalog.LOSSES, *catalog.LOSS_ALIASES])}; each fits only its scenarios: "
        + "; ".join(f"{scenario}: {_codes(n for n, s in catalog.LOSSES.items() if scenario in s)}"
                    for scenario in catalog.SCENARIOS) + ".",
        "",
        "Scenario defaults: " + "; ".join(
            f"{s}: output {catalog.OUTPUT_ACTIVATION[s]}, loss `{catalog.DEFAULT_LOSS[s]}`, "
            f"metrics {_codes(catalog.METRICS[s])}" for s in catalog.SCENARIOS) + ".",
    ]
    return "\n".join([BEGIN, *rows, *names, END])


PIPE = " \\| "  # a | inside a Markdown table cell


def _rows(model: type[BaseModel], prefix: str, skip: tuple[str, ...] = (), only: str = "") -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        key = f"{prefix}{name}"
        annotation = field.annotation
        nested = _nested_model(annotation)
        if nested is Component:
            kind = "name or {name, parameters}" + (" or null" if _optional(annotation) else "")
            rows.append(_row(key, kind, field, only=only))
        elif get_origin(annotation) is list and is_model(get_args(annotation)[0]):
            rows.append(_row(key, "list", field, "see below"))
            rows += _rows(get_args(annotation)[0], f"{key}[].")
        elif field.discriminator:
            rows += _union_rows(key, annotation, field)
        elif nested is not None:
            rows.append(_row(key, "section" + (" or null" if _optional(annotation) else ""), field))
            rows += _rows(nested, f"{key}.")
        else:
            rows.append(_row(key, _type_name(annotation) + _bounds(field.metadata), field, only=only))
    return rows


def _union_rows(key: str, annotation: Any, field) -> list[str]:
    """A tagged union (optimizers, schedules): the tag's choices, the fields every member shares
    (same default), then each member's own fields marked with its tag."""
    members = [m for m in get_args(annotation) if is_model(m)]
    tags = [get_args(m.model_fields["name"].annotation)[0] for m in members]
    default = field.get_default(call_default_factory=True).name
    rows = [f"| `{key}.name` | {PIPE.join(tags)} | `{default}` | which one |"]
    shared = [name for name, f in members[0].model_fields.items() if name != "name" and all(
        name in m.model_fields and m.model_fields[name].default == f.default for m in members)]
    rows += _rows(members[0], f"{key}.", skip=tuple(n for n in members[0].model_fields if n not in shared))
    for tag, member in zip(tags, members):
        rows += _rows(member, f"{key}.", skip=("name", *shared), only=f"{tag} only")
    return rows


def _row(key: str, type_name: str, field, note: str = "", only: str = "") -> str:
    default = "required" if field.is_required() else f"`{_show(field.get_default(call_default_factory=True))}`"
    meaning = " ".join(part for part in (f"({only})" if only else "", field.description or note) if part)
    return f"| `{key}` | {type_name} | {default} | {meaning} |"


def _show(value: Any) -> str:
    if isinstance(value, BaseModel):
        return "{...}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _type_name(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return PIPE.join(map(str, args))
    if origin in (Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in args)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    return {type(None): "null"}.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bounds(metadata: list) -> str:
    symbols = {annotated_types.Gt: ("gt", ">"), annotated_types.Ge: ("ge", ">="),
               annotated_types.Lt: ("lt", "<"), annotated_types.Le: ("le", "<=")}
    parts = [f"{symbols[type(m)][1]} {getattr(m, symbols[type(m)][0])}" for m in metadata if type(m) in symbols]
    return f" ({', '.join(parts)})" if parts else ""


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if is_model(annotation):
        return annotation
    models = [arg for arg in get_args(annotation) if is_model(arg)]
    return models[0] if len(models) == 1 and get_origin(annotation) in (Union, types.UnionType) else None


def _optional(annotation: Any) -> bool:
    return type(None) in get_args(annotation)


def _codes(names) -> str:
    return ", ".join(f"`{name}`" for name in names)


def update(readme: Path) -> None:
    """Rewrite the reference between the markers of `readme` (`python -m mlpctl.config.reference README.md`)."""
    text = readme.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    readme.write_text(text[:start] + reference_markdown() + text[end:])


if __name__ == "__main__":
    if len(sys.argv) > 1:
        update(Path(sys.argv[1]))
    else:
        print(reference_markdown())
