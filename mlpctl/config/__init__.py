"""Config stage: the schema, YAML loading, `--set` overrides and the resolved config."""

from mlpctl.config.loading import apply_override, load_config, resolved_yaml
from mlpctl.config.schema import RunConfig

__all__ = ["RunConfig", "apply_override", "load_config", "resolved_yaml"]
