"""Config stage: the schema, YAML loading, `--set` overrides, the resolved config, and the
`--metric` / `--mode` options that name logged quantities."""

from mlpctl.config.loading import (
    apply_override,
    config_from_mapping,
    flatten,
    format_value,
    load_config,
    read_raw,
    resolved_yaml,
)
from mlpctl.config.schema import RunConfig

__all__ = ["RunConfig", "apply_override", "config_from_mapping", "flatten", "format_value", "load_config",
           "read_raw", "resolved_yaml"]
