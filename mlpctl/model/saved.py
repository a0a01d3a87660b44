"""A trained run's network, rebuilt from its own config and its weights alone.

A run directory is data that may come from someone else. Loading `model.keras` the usual way
rebuilds every object its `config.json` names, and a name can be made to import code (or to
allocate what an edited `units` asks for). So `predict` and `evaluate` never read that config:
the network is built from the run's validated `config.yaml` and `preprocessing.json`, exactly as
training built it, and only the weight arrays are read from the file, after a look at their
sizes that costs no allocation.
"""

import json
import zipfile
from pathlib import Path

import h5py
import keras

from mlpctl.errors import DataError
from mlpctl.model.build import build_model

WEIGHTS_MEMBER = "model.weights.h5"  # Keras' name for the weights inside a .keras archive
CONFIG_MEMBER = "config.json"
CONFIG_BYTES = 16 * 2**20  # an MLP's saved config is kilobytes; a thousand layers, a few MB
LAYERS_GROUP = "layers"  # the model's own variables; the optimizer's are beside them, never read


def stored_values(path: Path) -> int:
    """How many values the archive's layer variables hold, from the HDF5 metadata alone.

    Each must be stored in full in the file (no compression, no unallocated space read back as
    a fill value, no link into another file), so that what Keras reads is bounded by the bytes on
    disk. Raises DataError saying what is wrong."""
    with zipfile.ZipFile(path) as archive, archive.open(WEIGHTS_MEMBER) as member, h5py.File(member, "r") as store:
        if LAYERS_GROUP not in store:
            raise DataError(f"{WEIGHTS_MEMBER} has no {LAYERS_GROUP!r} group")
        total = 0

        def visit(name: str, link) -> str | None:  # a returned problem ends the walk (h5py's rule)
            nonlocal total
            if not isinstance(link, h5py.HardLink):
                return f"{name} is a link, not stored data"
            item = store[LAYERS_GROUP].get(name)
            if isinstance(item, h5py.Dataset):
                if item.is_virtual or item.id.get_storage_size() < item.size * item.dtype.itemsize:
                    return f"{name} is not stored in full"
                total += item.size
            return None

        problem = store[LAYERS_GROUP].visititems_links(visit)
        if problem:
            raise DataError(f"{WEIGHTS_MEMBER}: {problem}")
        return total


def saved_config(path: Path) -> dict:
    """The archive's `config.json` as JSON, read within CONFIG_BYTES; nothing is built from it."""
    with zipfile.ZipFile(path) as archive:
        if archive.getinfo(CONFIG_MEMBER).file_size > CONFIG_BYTES:
            raise DataError(f"{CONFIG_MEMBER} is over {CONFIG_BYTES // 2**20} MB")
        document = json.loads(archive.read(CONFIG_MEMBER))
    if not isinstance(document, dict) or not isinstance(document.get("config", {}).get("layers"), list):
        raise DataError(f"{CONFIG_MEMBER} is not a Sequential model's config")
    return document


def foreign_names(node, ours: set[str]) -> list[str]:
    """The objects a saved config names that mlpctl never saves: anything that is neither Keras'
    own (`module` keras...) nor registered by mlpctl. The compile config is left out: Keras drops
    it when loading uncompiled, and a custom-loss run rightly names the user's loss there."""
    found = []
    if isinstance(node, dict):
        if "class_name" in node:
            module, registered = str(node.get("module") or ""), node.get("registered_name")
            if (registered and registered not in ours) or (not registered and module.split(".")[0] != "keras"):
                found.append(str(registered or f"{module}.{node['class_name']}"))
        for key, value in node.items():
            if key != "compile_config":
                found += foreign_names(value, ours)
    elif isinstance(node, list):
        for value in node:
            found += foreign_names(value, ours)
    return found


def layer_shapes(layers: list) -> list[tuple]:
    """(class, units) per layer: what an edited architecture changes."""
    return [(layer.get("class_name"), layer.get("config", {}).get("units")) for layer in layers
            if isinstance(layer, dict) and layer.get("class_name") != "InputLayer"]


def check_saved_config(path: Path, model: keras.Model) -> None:
    """The file's own config names only what mlpctl saves, and describes the network `model`
    is (the one config.yaml describes). Raises DataError saying what differs."""
    from mlpctl.model.custom import FunctionLoss

    document = saved_config(path)
    ours = {name for name in keras.saving.get_custom_objects() if name.startswith("mlpctl>")}
    ours.discard(keras.saving.get_registered_name(FunctionLoss))  # only ever a loss: compile config
    foreign = foreign_names(document, ours)
    if foreign:
        raise DataError(f"it names {', '.join(sorted(set(foreign))[:3])}, which mlpctl never saves in a model")
    saved, built = layer_shapes(document["config"]["layers"]), layer_shapes(model.get_config()["layers"])
    if saved != built:
        first = next((i for i, pair in enumerate(zip(saved, built)) if pair[0] != pair[1]), min(len(saved), len(built)))
        raise DataError(f"its layers differ from config.yaml's (layer {first + 1}: "
                         f"{saved[first] if first < len(saved) else 'none'} in the file, "
                         f"{built[first] if first < len(built) else 'none'} in config.yaml)")


def rebuild_trained(path: Path, config, preprocessing, expected_values: int) -> keras.Model:
    """The network `config` describes, with the weights of the `.keras` file at `path`.

    `expected_values`: the weights the config implies (at least); a file that holds fewer cannot
    be this run's, and is refused before anything is built. Raises DataError (or Keras' own
    errors on a damaged file) on a file that does not fit."""
    held = stored_values(path)
    if held < expected_values:
        raise DataError(f"it holds {held:,} weights; config.yaml describes {expected_values:,}")
    model = build_model(config, preprocessing)
    check_saved_config(path, model)
    model.load_weights(path)
    return model
