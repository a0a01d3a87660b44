"""Learning-rate schedules the course notes use and Keras lacks, saved with the model."""

import keras


@keras.saving.register_keras_serializable(package="mlpctl")
class PowerInverseTimeDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr / (1 + decay_rate * step / decay_steps) ** power: Keras' inverse time decay with a power,
    which makes it scikit-learn's invscaling (lr / t ** power_t, counting from 1)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, power, staircase=False):
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.power, self.staircase = decay_rate, power, staircase

    def __call__(self, step):
        ratio = keras.ops.cast(step, "float32") / self.decay_steps
        if self.staircase:
            ratio = keras.ops.floor(ratio)
        return self.initial_learning_rate / keras.ops.power(1.0 + self.decay_rate * ratio, self.power)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "power": self.power, "staircase": self.staircase}
