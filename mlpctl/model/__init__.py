"""Model stage: config names -> Keras objects (`registries.get`), the `Sequential` network and
its compilation (`build`), and the components the course notes teach that Keras lacks (`layers`,
`rprop`, `schedules`). Imports Keras: loaded only once TensorFlow is started (`runtime`)."""

from mlpctl.model.build import build_model, compile_model
from mlpctl.model.custom import import_custom, trust_custom_loss
from mlpctl.model.registries import get

__all__ = ["build_model", "compile_model", "get", "import_custom", "trust_custom_loss"]
