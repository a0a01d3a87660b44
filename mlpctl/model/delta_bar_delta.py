"""Delta-bar-delta (Jacobs, 1988), the per-weight adaptive gains the course notes teach and Keras
lacks. A real `keras.optimizers.Optimizer`, saved with the model."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mlpctl")
class DeltaBarDelta(keras.optimizers.Optimizer):
    """Each weight has its own learning rate. `bar` is an exponential average of its past
    gradients (weight `theta` on the past). When the new gradient agrees in sign with `bar`, the
    rate grows by `kappa` (added); when it disagrees, the rate shrinks by `phi` (multiplied).
    The weight then moves by its rate times its gradient. `learning_rate` is every weight's
    starting rate."""

    def __init__(self, learning_rate=0.01, kappa=0.05, phi=0.95, theta=0.7, name="delta_bar_delta", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.kappa, self.phi, self.theta = kappa, phi, theta
        self.initial_rate = float(learning_rate)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._rates = self.add_optimizer_variables(
            var_list, "rate", initializer=keras.initializers.Constant(self.initial_rate))
        self._bars = self.add_optimizer_variables(var_list, "bar")

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        rate, bar = self._rates[index], self._bars[index]
        gradient = ops.cast(gradient, variable.dtype)
        agreement = ops.multiply(gradient, bar)
        new_rate = ops.where(ops.greater(agreement, 0), rate + self.kappa,
                             ops.where(ops.less(agreement, 0), rate * self.phi, rate))
        self.assign(rate, new_rate)
        self.assign_sub(variable, new_rate * gradient)
        self.assign(bar, (1 - self.theta) * gradient + self.theta * bar)

    def get_config(self):
        config = super().get_config()
        config.update(kappa=self.kappa, phi=self.phi, theta=self.theta)
        return config
