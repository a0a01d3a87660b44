"""`mlpctl schema`: the config's JSON Schema, from the pydantic schema itself."""

import json

from mlpctl.cli.app import DebugOption, app, guarded, out


@app.command()
@guarded
def schema(debug: DebugOption = False) -> None:
    """Print the config's JSON Schema, for editors that validate and complete YAML."""
    from mlpctl.config import RunConfig

    document = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "mlpctl config",
                **RunConfig.model_json_schema()}
    out(json.dumps(document, indent=2))
