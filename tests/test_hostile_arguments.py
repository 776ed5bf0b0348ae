"""Arguments an adversarial tester tried: each is refused before anything trains, with an
error naming it, or (where Keras gives it a meaning) honoured; never a silent wrong answer."""
import numpy as np
import pytest

import nerve
from nerve import layers, ops, optimizers
from nerve.callbacks import Callback, LambdaCallback

schedules = optimizers.schedules
X = np.linspace(-1, 1, 16, dtype=np.float32).reshape(8, 2)
Y = np.array([0, 1, 0, 1, 1, 0, 1, 0], np.float32)


def small_model(dtype=None, optimizer="sgd"):
    model = nerve.Sequential([layers.Dense(1, input_dim=2, activation="sigmoid", dtype=dtype)])
    model.compile(optimizer, "binary_crossentropy")
    return model


def assert_untouched(model, before):
    for now, then in zip(model.get_weights(), before):
        np.testing.assert_array_equal(now, then)
    assert model.optimizer.iterations == 0


# ---- 7: silent wrong answers ----------------------------------------------------------------
@pytest.mark.parametrize("weights, name", [
    (dict(sample_weight=np.full(8, 1e39)), "sample_weight"),
    (dict(class_weight={0: 1e39, 1: 1.0}), "class_weight"),
    (dict(sample_weight=np.full(8, 1e20), class_weight={0: 1e20, 1: 1.0}),
     "sample_weight times class_weight"),
])
def test_weights_past_float32s_range_are_refused_before_training(weights, name):
    model = small_model()
    before = model.get_weights()
    with pytest.raises(ValueError, match=f"^{name}: expected weights up to 3.40282e\\+38"):
        model.fit(X, Y, verbose=0, **weights)
    assert_untouched(model, before)


def test_float64_models_take_weights_up_to_float64s_range():
    model = small_model(dtype="float64")
    loss = model.evaluate(X, Y, sample_weight=np.full(8, 1e300), verbose=0)
    assert np.isfinite(loss) and loss > 1e299
    with pytest.raises(ValueError, match="sample_weight times class_weight: .*float64"):
        model.fit(X, Y, sample_weight=np.full(8, 1e300), class_weight={0: 1e300, 1: 1.0},
                  verbose=0)


def test_a_negative_class_key_weights_the_rows_of_that_label():
    """Keras looks each row's label up in class_weight, so the key -1 weighs the -1 rows."""
    labels = np.where(Y > 0, 1.0, -1.0).astype(np.float32)
    results = []
    for weights in (dict(class_weight={-1: 5.0, 1: 1.0}),
                    dict(sample_weight=np.where(labels < 0, 5.0, 1.0))):
        nerve.utils.set_random_seed(3)
        model = small_model()
        history = model.fit(X, labels, shuffle=False, epochs=2, verbose=0, **weights)
        results.append((history.history["loss"], model.get_weights()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-6)
    for a, b in zip(results[0][1], results[1][1]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("key", ["a", "1", 1.5, True, None])
def test_class_weight_keys_must_be_int_labels(key):
    model = small_model()
    with pytest.raises(ValueError, match=f"class_weight: expected int class labels as keys, "
                                         f"received {key!r}"):
        model.fit(X, Y, class_weight={0: 1.0, key: 2.0, 1: 1.0}, verbose=0)


def test_a_large_class_key_needs_no_table_of_that_size():
    model = small_model()  # a lookup table up to the largest key would need 7 TiB
    model.fit(X, Y, class_weight={0: 1.0, 1: 1.0, 10**12: 3.0}, verbose=0)


@pytest.mark.parametrize("size", [-1, 0, 2.5, True, "8"])
@pytest.mark.parametrize("validation", ["split", "arrays", "generator"])
def test_validation_batch_size_is_checked_by_name_before_any_epoch(size, validation):
    model, epochs = small_model(), []
    before = model.get_weights()
    data = {"split": dict(validation_split=0.5),
            "arrays": dict(validation_data=(X, Y)),
            "generator": dict(validation_data=iter([(X, Y)] * 3), validation_steps=1)}
    with pytest.raises(ValueError, match=f"^validation_batch_size: expected an int >= 1, "
                                         f"received {size!r}"):
        model.fit(X, Y, validation_batch_size=size, verbose=0, **data[validation],
                  callbacks=[LambdaCallback(on_epoch_begin=lambda e, logs: epochs.append(e))])
    assert epochs == []
    assert_untouched(model, before)


def test_batch_size_is_checked_for_a_generator_too():
    with pytest.raises(ValueError, match="^batch_size: expected an int >= 1, received -1"):
        small_model().fit(iter([(X, Y)] * 2), batch_size=-1, steps_per_epoch=1, verbose=0)


@pytest.mark.parametrize("make, name", [
    (lambda: schedules.ExponentialDecay(-0.1, 10, 0.9), "initial_learning_rate"),
    (lambda: schedules.ExponentialDecay(float("nan"), 10, 0.9), "initial_learning_rate"),
    (lambda: schedules.ExponentialDecay(0.1, 0, 0.9), "decay_steps"),
    (lambda: schedules.ExponentialDecay(0.1, 2.5, 0.9), "decay_steps"),
    (lambda: schedules.ExponentialDecay(0.1, True, 0.9), "decay_steps"),
    (lambda: schedules.ExponentialDecay(0.1, 10, 0.0), "decay_rate"),
    (lambda: schedules.ExponentialDecay(0.1, 10, float("inf")), "decay_rate"),
    (lambda: schedules.ExponentialDecay(0.1, 10, 0.9, staircase="no"), "staircase"),
    (lambda: schedules.InverseTimeDecay(-1.0, 10, 0.5), "initial_learning_rate"),
    (lambda: schedules.InverseTimeDecay(0.1, -3, 0.5), "decay_steps"),
    (lambda: schedules.InverseTimeDecay(0.1, 10, -0.5), "decay_rate"),
    (lambda: schedules.CosineDecay(-0.1, 10), "initial_learning_rate"),
    (lambda: schedules.CosineDecay(0.1, 0), "decay_steps"),
    (lambda: schedules.CosineDecay(0.1, 10, alpha=2.0), "alpha"),
    (lambda: schedules.CosineDecay(0.1, 10, alpha=float("nan")), "alpha"),
    (lambda: schedules.CosineDecay(0.1, 10, warmup_target=-1.0, warmup_steps=2),
     "warmup_target"),
    (lambda: schedules.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=-1),
     "warmup_steps"),
    (lambda: schedules.PolynomialDecay(-0.1, 10), "initial_learning_rate"),
    (lambda: schedules.PolynomialDecay(0.1, 0), "decay_steps"),
    (lambda: schedules.PolynomialDecay(0.1, 10, end_learning_rate=-1e-3),
     "end_learning_rate"),
    (lambda: schedules.PolynomialDecay(0.1, 10, power=0.0), "power"),
    (lambda: schedules.PiecewiseConstantDecay([5], [0.1, -0.1]), r"values\[1\]"),
    (lambda: schedules.PiecewiseConstantDecay([5, 5], [0.1, 0.1, 0.1]), "boundaries"),
    (lambda: schedules.PiecewiseConstantDecay(["a"], [0.1, 0.1]), r"boundaries\[0\]"),
])
def test_schedules_check_every_argument_when_made(make, name):
    with pytest.raises((ValueError, TypeError), match=f"^{name}: expected"):
        make()


def test_valid_schedules_still_train_and_round_trip():
    for schedule in (schedules.ExponentialDecay(0.1, 2, 0.5, staircase=True),
                     schedules.InverseTimeDecay(0.1, np.int64(2), 0.5),
                     schedules.PolynomialDecay(0.1, 4.0),  # Keras code writes decay_steps=1e4
                     schedules.CosineDecay(0.1, 4, alpha=0.1, warmup_target=0.2, warmup_steps=2),
                     schedules.PolynomialDecay(0.1, 4, power=2.0),
                     schedules.PiecewiseConstantDecay([2, 4], [0.1, 0.05, 0.01])):
        copy = type(schedule).from_config(schedule.get_config())
        assert [copy(step) for step in range(6)] == [schedule(step) for step in range(6)]
        model = small_model(optimizer=optimizers.SGD(schedule))
        assert np.isfinite(model.fit(X, Y, epochs=3, batch_size=2, verbose=0).history["loss"]).all()


def test_one_optimizer_cannot_train_two_models():
    optimizer = optimizers.Adam()
    first = small_model(optimizer=optimizer)
    first.fit(X, Y, verbose=0)
    state = [s.copy() for s in optimizer._slots]
    second = nerve.Sequential([layers.Dense(3, input_dim=2)], name="second")
    with pytest.raises(ValueError, match=f"optimizer: this Adam already trains model "
                                         f"'{first.name}'.*new optimizer instance for 'second'"):
        second.compile(optimizer, "mse")
    assert second.optimizer is None
    for slot, saved in zip(optimizer._slots, state):
        np.testing.assert_array_equal(slot, saved)


def test_the_same_model_can_recompile_with_its_optimizer_and_release_it():
    optimizer = optimizers.Adam()
    model = small_model(optimizer=optimizer)
    model.fit(X, Y, verbose=0)
    model.compile(optimizer, "mse")  # Keras's recompile-to-change-the-loss idiom
    model.fit(X, Y, verbose=0)
    assert optimizer.iterations == 2
    model.compile("sgd", "mse")  # the model let it go: another model may take it
    nerve.Sequential([layers.Dense(3, input_dim=2)]).compile(optimizer, "mse")


def test_a_refused_compile_keeps_the_last_compile():
    model = small_model(optimizer="adam")
    optimizer, loss = model.optimizer, model.loss
    with pytest.raises(ValueError, match="loss_weights: expected finite numbers >= 0"):
        model.compile("sgd", "mse", loss_weights=[-1.0])
    assert model.optimizer is optimizer and model.loss is loss
    assert model.fit(X, Y, verbose=0).history["loss"][0] > 0


@pytest.mark.parametrize("shape", [(None, 2.5), (None, True), (None, 0), (None, "2"), 5])
def test_build_refuses_shapes_that_are_not_positive_ints(shape):
    dense = layers.Dense(1)

    class Subclassed(nerve.Model):
        def call(self, x):
            return dense(x)
    for model in (nerve.Sequential([layers.Dense(1)]), Subclassed()):
        with pytest.raises(ValueError, match="^input_shape: expected a shape of ints >= 1"):
            model.build(shape)
        assert not model.built


@pytest.mark.parametrize("make, name", [
    (lambda: layers.Dense(True), "units"),
    (lambda: layers.Dense(2**63), "units"),
    (lambda: layers.Dense(2.0), "units"),
    (lambda: layers.Embedding(2**63, 2), "input_dim"),
    (lambda: layers.Embedding(3, True), "output_dim"),
    (lambda: layers.Conv2D(2**63, 3), "filters"),
    (lambda: layers.Conv2D(False, 3), "filters"),
    (lambda: layers.Conv1D(2, 2**63), "kernel_size"),
    (lambda: layers.MaxPooling2D(pool_size=(2, 2**63)), "pool_size"),
    (lambda: layers.Dense(2, input_dim=2**63), "input_shape"),
    (lambda: layers.Dense(2, input_shape=(True,)), "input_shape"),
    (lambda: nerve.Input((2**63,)), "input_shape"),
    (lambda: layers.Reshape((2**63, -1)), "target_shape"),
])
def test_layer_sizes_are_ints_checked_at_construction(make, name):
    with pytest.raises(ValueError, match=f"{name}:? expected a"):
        make()


def test_numpy_integers_are_sizes():
    assert layers.Dense(np.int64(3)).units == 3
    conv = layers.Conv2D(np.int32(2), np.uint8(3))
    assert (conv.filters, conv.kernel_size) == (2, (3, 3))
    embedding = layers.Embedding(np.int16(5), np.uint64(2))
    assert (embedding.input_dim, embedding.output_dim) == (5, 2)
    model = nerve.Sequential([layers.Dense(np.int64(4), input_dim=np.int32(2))])
    model.build((None, np.int64(2)))
    assert model.output_shape == (None, 4)


# ---- 11: errors that name their argument ----------------------------------------------------
@pytest.mark.parametrize("callbacks", [5, "progress", 1.5])
def test_callbacks_must_be_a_list_of_callbacks(callbacks):
    model = small_model()
    for call in (lambda: model.fit(X, Y, callbacks=callbacks, verbose=0),
                 lambda: model.evaluate(X, Y, callbacks=callbacks, verbose=0),
                 lambda: model.predict(X, callbacks=callbacks, verbose=0)):
        with pytest.raises(TypeError, match="^callbacks: expected a list of nerve.callbacks"):
            call()
    assert model.optimizer.iterations == 0


def test_a_lone_callback_is_taken_as_keras_takes_it():
    seen = []

    class Count(Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(epoch)
    small_model().fit(X, Y, epochs=2, callbacks=Count(), verbose=0)
    assert seen == [0, 1]


@pytest.mark.parametrize("dtype", ["timedelta64[s]", "datetime64[s]", "complex64", "bool", "U3"])
def test_set_weights_takes_only_real_number_arrays(dtype):
    model = small_model()
    before = model.get_weights()
    bad = [before[0], before[1].astype(dtype)]
    with pytest.raises(TypeError, match=r"^weights\[1\]: expected a float or int array"):
        model.set_weights(bad)
    assert_untouched(model, before)


@pytest.mark.parametrize("a_shape, b_shape", [
    ((3,), (4, 10**6)),
    ((10**6, 3), (4,)),
    ((10**6, 3, 1), (2, 10**6)),
    ((10**6, 1, 3), (5, 3, 1)),
    ((2, 10**6, 3), (4, 10**6)),
])
def test_matmul_of_mismatched_shapes_names_x2_without_allocating(a_shape, b_shape):
    a, b = np.ones(a_shape, np.float32), np.ones(b_shape, np.float32)
    with pytest.raises(ValueError, match=r"^ops.matmul: x2: expected .*received shape"):
        ops.matmul(a, b)
    with pytest.raises(ValueError, match="x2: expected"):
        ops.matmul(nerve.Input(a_shape[1:]), b) if len(a_shape) > 1 else ops.matmul(a, b)


@pytest.mark.parametrize("make", [lambda: ops.ones((True, 3)), lambda: ops.zeros((2, False)),
                                  lambda: ops.reshape(np.ones(3), (True, 3))])
def test_op_shapes_take_no_bools(make):
    with pytest.raises(TypeError, match="expected a tuple of ints, received"):
        make()


def test_an_op_error_gives_a_lists_shape_not_its_values():
    with pytest.raises(ValueError) as error:
        ops.matmul(np.ones((1000, 3)).tolist(), np.ones((4, 2)))
    assert "a list of shape (1000, 3)" in str(error.value) and len(str(error.value)) < 400


@pytest.mark.parametrize("make, name", [
    (lambda: nerve.regularizers.L1L2(l1="a"), "l1"),
    (lambda: nerve.losses.BinaryCrossentropy(label_smoothing=None), "label_smoothing"),
    (lambda: nerve.losses.CategoricalCrossentropy(label_smoothing="x"), "label_smoothing"),
    (lambda: nerve.losses.Huber(None), "delta"),
])
def test_loss_and_penalty_numbers_are_named_when_refused(make, name):
    with pytest.raises(ValueError, match=f"^{name}: expected a finite number"):
        make()


def test_an_l1l2_factor_of_none_is_zero_as_in_keras():
    assert nerve.regularizers.L1L2(l1=None, l2=0.5).get_config() == {"l1": 0.0, "l2": 0.5}


@pytest.mark.parametrize("axis", ["a", "01", [0.5], 1.0])
def test_a_reduction_axis_that_is_no_int_is_named(axis):
    with pytest.raises(TypeError, match="^axis: expected an int, a tuple of ints or None"):
        ops.sum(np.ones((2, 2), np.float32), axis=axis)


def test_an_unbuilt_model_builds_from_nested_lists():
    sequential = nerve.Sequential([layers.Dense(1)])
    sequential.compile("sgd", "mse")
    sequential.fit([[0.0, 1.0], [1.0, 0.0]], [[1.0], [0.0]], verbose=0)
    inputs = nerve.Input((2,))
    functional = nerve.Model(inputs, layers.Dense(1)(inputs))
    assert functional.predict([[0.0, 1.0]], verbose=0).shape == (1, 1)
    assert sequential.predict([[0.0, 1.0]], verbose=0).shape == (1, 1)
