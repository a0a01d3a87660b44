"""The pieces every section of the schema is made of: sections that refuse unknown keys, and
named components with parameters (`{name: leaky_relu, negative_slope: 0.1}`) checked against the
catalog."""

import re
from typing import Annotated, Any, Union

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator

from mlpctl import catalog
from mlpctl.config.suggest import did_you_mean, unknown_name


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
            if not (isinstance(value, wanted) or (wanted is float and type(value) is int)):
                raise ValueError(f"{kind} {name!r}: {param} must be a {wanted.__name__}, got {value!r}")
    return spec


def _names(*tables) -> Any:
    """A str whose JSON Schema lists the valid names, for editors' completion and checks."""
    names = list(dict.fromkeys(name for table in tables for name in table))
    return Annotated[str, WithJsonSchema({"type": "string", "enum": names})]


class CustomLoss(Section):
    custom: str = Field(description="package.module:function, imported from your environment.")

    @field_validator("custom")
    @classmethod
    def _module_and_function(cls, target: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", target):
            raise ValueError(f"expected package.module:function, got {target!r}")
        return target


InitializerSpec = Union[_names(catalog.INITIALIZERS), Component]
LossSpec = Union[_names(catalog.LOSSES, catalog.LOSS_ALIASES), Component, CustomLoss]
ActivationSpec = Union[_names(catalog.ACTIVATIONS, catalog.ACTIVATION_LAYERS), Component]
