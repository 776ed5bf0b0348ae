"""Keras-parity extras: Adam's amsgrad, Dropout's noise_shape, label smoothing, the penalties in
evaluate's loss and weighted_metrics; each against the NumPy reference backend or numbers
computed by hand from Keras's formulas."""
import numpy as np
import pytest

import nerve
from nerve import layers, losses, optimizers, saving


def dense_model(units=1, activation=None, seed=0, **dense):
    nerve.utils.set_random_seed(seed)
    return nerve.Sequential([layers.Input(shape=(3,)), layers.Dense(4, activation="tanh", **dense),
                             layers.Dense(units, activation=activation)])


def regression_data(rows=40, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3)).astype(np.float32)
    return x, (x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype(np.float32)


# ---- Adam / AdamW amsgrad ---------------------------------------------------------------------

@pytest.mark.parametrize("cls", [optimizers.Adam, optimizers.AdamW])
def test_amsgrad_config_round_trip(cls):
    optimizer = cls(learning_rate=0.01, amsgrad=True)
    config = optimizer.get_config()
    assert config["amsgrad"] is True
    again = cls.from_config(config)
    assert again.amsgrad and again._slot_names()[-1] == "velocity_hat"
    assert optimizers.get(optimizers.serialize(optimizer)).amsgrad
    assert cls().get_config()["amsgrad"] is False


def test_amsgrad_argument_is_checked():
    with pytest.raises(TypeError, match="amsgrad: expected True or False, received 'yes'"):
        optimizers.Adam(amsgrad="yes")


@pytest.mark.parametrize("cls", [optimizers.Adam, optimizers.AdamW])
def test_amsgrad_training_matches_reference_and_differs_from_adam(cls):
    x, y = regression_data()
    results = {}
    for backend in ("cpp", "numpy"):
        for amsgrad in (False, True):
            model = dense_model()
            model.compile(optimizer=cls(learning_rate=0.05, beta_2=0.9, amsgrad=amsgrad),
                          loss="mse")
            with nerve.use_backend(backend):
                model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
            results[backend, amsgrad] = model.get_weights()
    for amsgrad in (False, True):
        for a, b in zip(results["cpp", amsgrad], results["numpy", amsgrad]):
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    assert not np.allclose(results["cpp", True][0], results["cpp", False][0])


def test_amsgrad_state_has_velocity_hat_and_survives_saving(tmp_path):
    x, y = regression_data()
    model = dense_model()
    model.compile(optimizer=optimizers.Adam(learning_rate=0.05, amsgrad=True), loss="mse")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    state = model.optimizer.get_state()
    assert len(state) == 4  # iterations, momentum, velocity, velocity_hat
    velocity, velocity_hat = state[2], state[3]
    assert (velocity_hat >= velocity).all() and (velocity_hat > velocity).any()
    saving.save_model(model, tmp_path / "m.keras")
    loaded = saving.load_model(tmp_path / "m.keras")
    assert loaded.optimizer.amsgrad
    for a, b in zip(loaded.optimizer.get_state(), state):
        np.testing.assert_array_equal(a, b)
    # Training on continues identically from the restored v_hat.
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="expected 4 arrays"):
        loaded.optimizer.set_state(state[:3])
