"""The pieces every section of the schema is made of: sections that refuse unknown keys, and
named components with parameters (`{name: leaky_relu, negative_slope: 0.1}`) checked against the
catalog."""

import math
import re
from typing import TYPE_CHECKING, Annotated, Any, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from mlpctl import catalog
from mlpctl.config.suggest import did_you_mean, unknown_name

LARGEST_INT = 2**32 - 1  # no count in a config needs more; TensorFlow's counters overflow far above


def _accepts(annotation: Any, kind: type) -> bool:
    return annotation is kind or kind in get_args(annotation)


def strict_number(value: Any, annotation: Any) -> Any:
    """A number where the schema wants one: not a boolean (`units: true` is not 1), an integer
    no larger than LARGEST_INT, a float that is finite (the sections refuse inf and NaN)."""
    numeric = _accepts(annotation, int) or _accepts(annotation, float)
    if not numeric or _accepts(annotation, bool):
        return value
    if isinstance(value, bool):
        raise ValueError(f"must be a number, not {str(value).lower()}")
    whole = _accepts(annotation, int) and not _accepts(annotation, float)
    if (isinstance(value, int) or (whole and isinstance(value, float))) and abs(value) > LARGEST_INT:
        raise ValueError(f"must be at most {LARGEST_INT}, got {value:g}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value}")
    return value


class Section(BaseModel):
    """A part of the config: unknown keys, booleans for numbers, inf and NaN are all refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _strict_numbers(cls, raw: Any) -> Any:
        """`field: problem`, which `loading.describe` turns into `section.field: problem`."""
        if isinstance(raw, dict):
            for name, value in raw.items():
                if name in cls.model_fields:
                    try:
                        strict_number(value, cls.model_fields[name].annotation)
                    except ValueError as error:
                        raise ValueError(f"{name}: {error}") from None
        return raw


class Component(BaseModel):
    """A name with parameters, e.g. `{name: leaky_relu, negative_slope: 0.1}`; the parameters
    allowed for each name are checked against the catalog."""

    model_config = ConfigDict(extra="allow")
    name: str

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def name_and_params(spec: Any) -> tuple[str, dict[str, Any]]:
    """`relu` -> ('relu', {}); `{name: elu, alpha: 1}` -> ('elu', {'alpha': 1}). Takes a name, a
    Component, a mapping with a `name`, or a named section (an optimizer or a schedule)."""
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, Component):
        return spec.name, spec.params
    params = dict(spec) if isinstance(spec, dict) else {key: getattr(spec, key) for key in type(spec).model_fields}
    return params.pop("name"), params


def check_component(kind: str, spec: Any, table: dict[str, dict[str, type]]) -> Any:
    """A name from `table`, or a Component whose name and parameters are in it."""
    name, _ = name_and_params(spec)
    if name not in table:
        raise ValueError(unknown_name(kind, name, table))
    if isinstance(spec, Component):
        for param, value in spec.params.items():
            allowed = table[name]
            if param not in allowed:
                hint = did_you_mean(param, allowed) or (
                    f" ({name} takes {', '.join(allowed)})" if allowed else f" ({name} takes no parameters)")
                raise ValueError(f"{kind} {name!r} has no parameter {param!r}{hint}")
            wanted = allowed[param]
            if not (isinstance(value, wanted) or (wanted is float and type(value) is int)) or (
                    isinstance(value, bool) and wanted is not bool):
                raise ValueError(f"{kind} {name!r}: {param} must be a {wanted.__name__}, got {value!r}")
            try:
                strict_number(value, wanted)
            except ValueError as error:
                raise ValueError(f"{kind} {name!r}: {param} {error}") from None
    return spec


def _names(*tables) -> Any:
    """A str whose JSON Schema lists the valid names, for editors' completion and checks."""
    names = list(dict.fromkeys(name for table in tables for name in table))
    return Annotated[str, WithJsonSchema({"type": "string", "enum": names})]


class CustomLoss(Section):
    """`loss: {custom: package.module:function}`: the user's own loss, imported only when a run uses it."""
    custom: str = Field(description="package.module:function, imported from your environment.")

    @field_validator("custom")
    @classmethod
    def _module_and_function(cls, target: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", target):
            raise ValueError(f"expected package.module:function, got {target!r}")
        return target


if TYPE_CHECKING:  # the names are checked at run time (a JSON Schema enum); to a type checker they are str
    InitializerSpec = str | Component
    LossSpec = str | Component | CustomLoss
    ActivationSpec = str | Component
else:
    InitializerSpec = Union[_names(catalog.INITIALIZERS), Component]
    LossSpec = Union[_names(catalog.LOSSES, catalog.LOSS_ALIASES), Component, CustomLoss]
    ActivationSpec = Union[_names(catalog.ACTIVATIONS, catalog.ACTIVATION_LAYERS), Component]
