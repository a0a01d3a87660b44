"""Rprop (iRprop-), the resilient backpropagation of Riedmiller and Braun (1993), which the
course notes teach and Keras lacks. A real `keras.optimizers.Optimizer`, saved with the model."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mlpctl")
class Rprop(keras.optimizers.Optimizer):
    """Each weight has its own step size. While its gradient keeps its sign the step grows by
    `eta_plus` (up to `step_max`); when the sign flips the step shrinks by `eta_minus` (down to
    `step_min`), and that weight waits one update (iRprop-: the gradient is forgotten). The
    weight moves by its step against the sign of its gradient; the gradient's size is unused.

    It needs the gradient of the whole training set, so it is used with full batches.
    `learning_rate` is the initial step size of every weight.
    """

    def __init__(self, learning_rate=0.1, eta_plus=1.2, eta_minus=0.5, step_min=1e-6, step_max=50.0,
                 name="rprop", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.eta_plus, self.eta_minus = eta_plus, eta_minus
        self.step_min, self.step_max = step_min, step_max
        self.initial_step = float(learning_rate)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._steps = self.add_optimizer_variables(
            var_list, "step", initializer=keras.initializers.Constant(self.initial_step))
        self._previous = self.add_optimizer_variables(var_list, "previous_gradient")

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        step, previous = self._steps[index], self._previous[index]
        gradient = ops.cast(gradient, variable.dtype)
        agreement = ops.multiply(gradient, previous)
        new_step = ops.where(
            ops.greater(agreement, 0), ops.minimum(step * self.eta_plus, self.step_max),
            ops.where(ops.less(agreement, 0), ops.maximum(step * self.eta_minus, self.step_min), step),
        )
        gradient = ops.where(ops.less(agreement, 0), ops.zeros_like(gradient), gradient)
        self.assign(step, new_step)
        self.assign_sub(variable, ops.sign(gradient) * new_step)
        self.assign(previous, gradient)

    def get_config(self):
        config = super().get_config()
        config.update(eta_plus=self.eta_plus, eta_minus=self.eta_minus, step_min=self.step_min,
                      step_max=self.step_max)
        return config
