"""fit / evaluate / predict on generators and nerve.utils.PyDataset, and `steps` on arrays:
the same numbers as arrays holding the same batches (and as the NumPy reference backend),
Keras's epoch rules (a generator continues across epochs, a pass that ends early ends the
epoch), and errors that name the batch."""
import warnings

import numpy as np
import pytest

import nerve
from nerve import callbacks as callbacks_module
from nerve import layers
from nerve.utils import PyDataset

# 19 batches, the last one of 12 rows: more than a generator's window of 16 batches holds.
ROWS, BATCH = 300, 16
STEPS = 19


def data(rows=ROWS, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 5)).astype(np.float32)
    y = (x[:, :1] + 0.5 * x[:, 1:2] > 0).astype(np.float32)
    return x, y, rng.uniform(0.5, 2.0, size=rows).astype(np.float32)


def classifier(seed=0):
    nerve.utils.set_random_seed(seed)
    model = nerve.Sequential([layers.Input(shape=(5,)), layers.Dense(8, activation="tanh"),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "mae"])
    return model


def batches_of(*arrays, batch=BATCH, repeat=1, log=None):
    """A generator over the rows of arrays in order, `repeat` times; log records each start."""
    for _ in range(repeat):
        for start in range(0, len(arrays[0]), batch):
            if log is not None:
                log.append(start)
            parts = tuple(a[start:start + batch] for a in arrays)
            yield parts if len(parts) > 1 else parts[0]


class Batches(PyDataset):
    def __init__(self, *arrays, batch=BATCH, **kwargs):
        super().__init__(**kwargs)
        self.arrays, self.batch, self.seen, self.epochs_ended = arrays, batch, [], 0

    def __len__(self):
        return -(-len(self.arrays[0]) // self.batch)

    def __getitem__(self, index):
        self.seen.append(index)
        return tuple(a[index * self.batch:(index + 1) * self.batch] for a in self.arrays)

    def on_epoch_end(self):
        self.epochs_ended += 1


def assert_same_model(a, b, **tolerance):
    for u, v in zip(a.get_weights(), b.get_weights()):
        if tolerance:
            np.testing.assert_allclose(u, v, **tolerance)
        else:
            np.testing.assert_array_equal(u, v)


# ---- the same numbers as arrays ----------------------------------------------------------------

@pytest.mark.parametrize("weighted", [False, True])
def test_generator_fit_equals_array_fit_on_the_same_batches(weighted):
    x, y, w = data()
    arrays, streamed = classifier(), classifier()
    reference = arrays.fit(x, y, sample_weight=w if weighted else None, batch_size=BATCH,
                           epochs=3, shuffle=False, verbose=0)
    source = batches_of(x, y, w, repeat=3) if weighted else batches_of(x, y, repeat=3)
    history = streamed.fit(source, steps_per_epoch=STEPS, epochs=3, verbose=0)
    assert history.history == reference.history
    assert_same_model(arrays, streamed)
    for a, b in zip(arrays.optimizer.get_state(), streamed.optimizer.get_state()):
        np.testing.assert_array_equal(a, b)


def test_generator_fit_matches_the_numpy_reference():
    x, y, _ = data()
    results = []
    for backend in ("cpp", "numpy"):
        model = classifier()
        with nerve.use_backend(backend):
            results.append((model, model.fit(batches_of(x, y, repeat=2), steps_per_epoch=STEPS,
                                             epochs=2, verbose=0).history))
    assert_same_model(results[0][0], results[1][0], rtol=1e-4, atol=1e-6)
    for key, values in results[0][1].items():
        np.testing.assert_allclose(values, results[1][1][key], rtol=1e-4)


def test_pydataset_fit_equals_array_fit_and_calls_on_epoch_end():
    x, y, w = data()
    arrays, streamed = classifier(), classifier()
    reference = arrays.fit(x, y, sample_weight=w, batch_size=BATCH, epochs=2, shuffle=False,
                           verbose=0)
    dataset = Batches(x, y, w, workers=4, use_multiprocessing=True, max_queue_size=3)
    history = streamed.fit(dataset, epochs=2, shuffle=False, verbose=0)
    assert history.history == reference.history and dataset.epochs_ended == 2
    assert dataset.seen == list(range(STEPS)) * 2
    assert_same_model(arrays, streamed)
    assert nerve.utils.Sequence is PyDataset


def test_pydataset_shuffle_visits_every_batch_once_per_epoch_in_a_new_order():
    x, y, _ = data()
    dataset = Batches(x, y)
    classifier().fit(dataset, epochs=3, verbose=0)  # shuffle=True by default, as in Keras
    epochs = [dataset.seen[i * STEPS:(i + 1) * STEPS] for i in range(3)]
    assert all(sorted(e) == list(range(STEPS)) for e in epochs) and len(dataset.seen) == 3 * STEPS
    assert epochs[0] != list(range(STEPS)) and epochs[0] != epochs[1]


def test_batches_of_changing_sizes_equal_train_on_batch_calls():
    x, y, _ = data()
    sizes = [2, 64, 5, 70, 1, 58]  # the window grows, starts over and feeds the metrics
    starts = np.cumsum([0] + sizes)
    stream = ((x[a:b], y[a:b]) for a, b in zip(starts, starts[1:]))
    streamed, stepped = classifier(), classifier()
    logs = streamed.fit(stream, verbose=0).history
    results = np.array([stepped.train_on_batch(x[a:b], y[a:b]) for a, b in zip(starts, starts[1:])])
    expected = (results * np.array(sizes)[:, None]).sum(axis=0) / sum(sizes)
    np.testing.assert_allclose([logs["loss"][0], logs["accuracy"][0], logs["mae"][0]], expected,
                               rtol=1e-6)
    assert_same_model(streamed, stepped)


def two_in_two_out():
    nerve.utils.set_random_seed(4)
    a, b = nerve.Input(shape=(4,), name="a"), nerve.Input(shape=(3,), name="b")
    merged = layers.concatenate([layers.Dense(5)(a), layers.Dense(5)(b)])
    p = layers.Dense(1, activation="sigmoid", name="p")(merged)
    r = layers.Dense(2, name="r")(merged)
    model = nerve.Model({"a": a, "b": b}, {"p": p, "r": r})
    model.compile("adam", loss={"p": "binary_crossentropy", "r": "mse"}, metrics={"p": ["mae"]})
    return model


def test_multi_input_multi_output_batches_as_dicts_and_lists():
    rng = np.random.default_rng(2)
    xa, xb = rng.normal(size=(40, 4)), rng.normal(size=(40, 3))
    yp, yr = (rng.random((40, 1)) > .5).astype(float), rng.normal(size=(40, 2))
    arrays, streamed = two_in_two_out(), two_in_two_out()
    reference = arrays.fit({"a": xa, "b": xb}, {"p": yp, "r": yr}, batch_size=8, epochs=2,
                           shuffle=False, verbose=0)
    stream = (({"a": xa[s:s + 8], "b": xb[s:s + 8]}, [yp[s:s + 8], yr[s:s + 8]])
              for _ in range(2) for s in range(0, 40, 8))
    history = streamed.fit(stream, steps_per_epoch=5, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "p_loss", "r_loss", "p_mae"}
    assert history.history == reference.history
    assert_same_model(arrays, streamed)
    out = streamed.predict((({"a": xa[s:s + 8], "b": xb[s:s + 8]},) for s in range(0, 40, 8)),
                           verbose=0)
    expected = streamed.predict({"a": xa, "b": xb}, verbose=0)
    assert set(out) == {"p", "r"} and all(np.array_equal(out[k], expected[k]) for k in out)
    logs = streamed.evaluate((({"a": xa[s:s + 8], "b": xb[s:s + 8]}, {"p": yp[s:s + 8],
                                                                       "r": yr[s:s + 8]})
                              for s in range(0, 40, 8)), return_dict=True, verbose=0)
    expected = streamed.evaluate({"a": xa, "b": xb}, {"p": yp, "r": yr}, batch_size=8,
                                 return_dict=True, verbose=0)
    assert logs == pytest.approx(expected, rel=1e-12)


class Subclassed(nerve.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden, self.out = layers.Dense(6, activation="relu"), layers.Dense(1)

    def call(self, inputs, training=None):
        return self.out(self.hidden(inputs))


def test_a_subclassed_model_is_built_by_the_first_batch():
    x, y, _ = data()
    models, histories = [], []
    for source in ((x, y), (Batches(x, y),)):
        nerve.utils.set_random_seed(9)  # the weights are drawn when the data builds the model
        model = Subclassed()
        model.compile("sgd", "mse", metrics=["mae"])
        histories.append(model.fit(*source, batch_size=BATCH, epochs=2, shuffle=False,
                                   verbose=0).history)
        models.append(model)
    assert histories[0] == histories[1]
    assert_same_model(*models)


def test_evaluate_and_predict_on_generators_and_pydatasets():
    x, y, w = data()
    model = classifier()
    model.fit(x, y, epochs=2, verbose=0)
    expected = model.evaluate(x, y, sample_weight=w, batch_size=BATCH, verbose=0)
    assert model.evaluate(batches_of(x, y, w), verbose=0) == pytest.approx(expected, rel=1e-12)
    assert model.evaluate(Batches(x, y, w), verbose=0) == pytest.approx(expected, rel=1e-12)
    first = model.evaluate(x[:48], y[:48], batch_size=BATCH, verbose=0)
    assert model.evaluate(batches_of(x, y, repeat=9), steps=3, verbose=0) == \
        pytest.approx(first, rel=1e-12)
    predicted = model.predict(x, verbose=0)
    for source in (batches_of(x), batches_of(x, y), ((b,) for b in batches_of(x)),
                   Batches(x, y)):
        np.testing.assert_array_equal(model.predict(source, verbose=0), predicted)
    np.testing.assert_array_equal(model.predict(batches_of(x, repeat=5), steps=2, verbose=0),
                                  predicted[:32])


# ---- Keras's epoch rules ---------------------------------------------------------------------

class BatchCounter(callbacks_module.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.counts = getattr(self, "counts", []) + [0]

    def on_train_batch_end(self, batch, logs=None):
        self.counts[-1] += 1
        assert 0 <= logs["accuracy"] <= 1  # metrics are readable after every batch


def test_a_generator_continues_across_epochs_with_steps_per_epoch():
    x, y, _ = data()
    log, counter = [], BatchCounter()
    classifier().fit(batches_of(x, y, repeat=5, log=log), steps_per_epoch=5, epochs=3,
                     callbacks=[counter], verbose=0)
    assert counter.counts == [5, 5, 5]
    assert log == list(range(0, ROWS, 16))[:15]  # 15 batches drawn, no more


def test_a_generator_that_runs_dry_warns_and_stops_training():
    x, y, _ = data(rows=7 * BATCH)
    counter = BatchCounter()
    with pytest.warns(UserWarning) as caught:
        history = classifier().fit(batches_of(x, y), steps_per_epoch=4, epochs=5,
                                   callbacks=[counter], verbose=0)
    messages = [str(w.message) for w in caught]
    assert counter.counts == [4, 3] and len(history.history["loss"]) == 2
    assert any("steps_per_epoch=4: 3 batches instead of 4: the generator ran out" in m
               for m in messages)
    assert any("fit: the generator has no batches left for epoch 3 of 5" in m for m in messages)


def test_a_finite_generator_without_steps_is_one_epoch_then_stops():
    x, y, _ = data()
    arrays = classifier()
    arrays.fit(x, y, batch_size=BATCH, shuffle=False, verbose=0)
    streamed = classifier()
    with pytest.warns(UserWarning, match="no batches left for epoch 2 of 3"):
        history = streamed.fit(batches_of(x, y), epochs=3, verbose=0)
    assert len(history.history["loss"]) == 1
    assert_same_model(arrays, streamed)


def test_steps_per_epoch_on_arrays_continues_the_pass_as_keras():
    # 100 rows, batches of 10, 4 steps an epoch: Keras's epochs take 4, 4, then the 2 left
    # (with a warning), and a fourth epoch starts a new pass.
    x, y, _ = data(rows=100)
    counter, model = BatchCounter(), classifier()
    with pytest.warns(UserWarning, match=r"steps_per_epoch=4: 2 batches instead of 4: a pass "
                                         r"over the data has 10, so this epoch ends early"):
        model.fit(x, y, batch_size=10, steps_per_epoch=4, epochs=4, shuffle=False,
                  callbacks=[counter], verbose=0)
    assert counter.counts == [4, 4, 2, 4]
    stepwise = classifier()
    for rows in (slice(0, 40), slice(40, 80), slice(80, 100), slice(0, 40)):
        stepwise.fit(x[rows], y[rows], batch_size=10, shuffle=False, verbose=0)
    assert_same_model(model, stepwise)


def test_steps_per_epoch_without_batch_size_splits_the_rows_into_that_many_batches():
    x, y, _ = data(rows=100)
    counter, model = BatchCounter(), classifier()
    model.fit(x, y, steps_per_epoch=3, epochs=2, callbacks=[counter], verbose=0)
    assert counter.counts == [3, 3]  # batches of ceil(100 / 3) = 34 rows


def test_steps_on_arrays_limits_evaluate_and_predict():
    x, y, _ = data()
    model = classifier()
    assert model.evaluate(x, y, batch_size=10, steps=3, verbose=0) == pytest.approx(
        model.evaluate(x[:30], y[:30], verbose=0), rel=1e-12)
    assert model.evaluate(x, y, steps=2, verbose=0) == pytest.approx(
        model.evaluate(x, y, batch_size=100, verbose=0), rel=1e-12)
    np.testing.assert_array_equal(model.predict(x, batch_size=10, steps=3, verbose=0),
                                  model.predict(x[:30], verbose=0))
    with pytest.warns(UserWarning, match=f"steps=30: {STEPS} batches instead of 30: the data "
                                         f"has {STEPS}$"):
        assert model.evaluate(x, y, batch_size=BATCH, steps=30, verbose=0) == pytest.approx(
            model.evaluate(x, y, batch_size=BATCH, verbose=0), rel=1e-12)
    with pytest.raises(ValueError, match="steps: expected an int >= 1, received 0"):
        model.predict(x, steps=0)


def test_validation_generator_continues_across_epochs():
    x, y, _ = data()
    xv, yv, _ = data(rows=96, seed=5)
    log, model = [], classifier()
    history = model.fit(x, y, epochs=2, verbose=0, validation_steps=2,
                        validation_data=batches_of(xv, yv, repeat=2, log=log))
    assert log == [0, 16, 32, 48]
    # The last epoch's validation ran on rows 32:64 with the final weights.
    expected = model.evaluate(xv[32:64], yv[32:64], batch_size=BATCH, return_dict=True,
                              verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(expected["loss"], rel=1e-12)
    assert history.history["val_accuracy"][-1] == pytest.approx(expected["accuracy"])


def test_validation_pydataset_starts_over_every_epoch():
    x, y, _ = data()
    dataset = Batches(*data(rows=48, seed=5)[:2])
    classifier().fit(x, y, epochs=2, validation_data=dataset, verbose=0)
    assert dataset.seen == [0, 1, 2, 0, 1, 2] and dataset.epochs_ended == 2


@pytest.mark.parametrize("verbose", [1, 2])
def test_progress_output_without_a_known_length(capsys, verbose):
    x, y, _ = data()
    classifier().fit(batches_of(x, y), verbose=verbose)
    classifier().evaluate(batches_of(x, y), verbose=verbose)
    classifier().predict(batches_of(x), verbose=verbose)
    out = capsys.readouterr().out
    assert out.count(f"{STEPS}/{STEPS}") == 3 and "accuracy:" in out


# ---- errors --------------------------------------------------------------------------------

def test_a_bad_batch_is_named_and_a_bad_first_batch_leaves_the_model_untouched():
    x, y, _ = data()
    model = classifier()
    before = model.get_weights()
    bad_first = iter([(x[:16, :4], y[:16])])
    with pytest.raises(ValueError, match=r"x of generator batch 0: expected samples of shape "
                                         r"\(5,\)"):
        model.fit(bad_first, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    nan = y[:16].copy()
    nan[3] = np.nan
    with pytest.raises(ValueError, match=r"y of generator batch 2: expected finite numbers"):
        model.fit(iter([(x[:16], y[:16])] * 2 + [(x[:16], nan)]), verbose=0)
    with pytest.raises(ValueError, match=r"x and y of PyDataset batch 1: expected the same "
                                         r"number of samples"):
        model.fit(Batches(x, np.concatenate([y[:16], y[:15]])), shuffle=False, verbose=0)
    with pytest.raises(ValueError, match=r"sample_weight of generator batch 0: expected shape "
                                         r"\(16,\)"):
        model.fit(iter([(x[:16], y[:16], np.ones(3))]), verbose=0)
    with pytest.raises(ValueError, match=r"generator batch 0: expected \(x, y\) or \(x, y, "
                                         r"sample_weight\), received ndarray"):
        model.fit(batches_of(x), verbose=0)
    with pytest.raises(ValueError, match="generator batch 0: expected .* received a tuple of 4"):
        model.evaluate(iter([(x, y, y, y)]), verbose=0)
    with pytest.raises(TypeError, match="x of generator batch 0: expected numbers"):
        model.predict(iter([np.array([["a"] * 5])]), verbose=0)


def test_arguments_that_do_not_go_with_a_generator():
    x, y, _ = data()
    model = classifier()
    with pytest.raises(ValueError, match="y: expected None when x is a generator"):
        model.fit(batches_of(x, y), y, verbose=0)
    with pytest.raises(ValueError, match="sample_weight: expected None when x is a generator"):
        model.evaluate(batches_of(x, y), sample_weight=np.ones(ROWS), verbose=0)
    with pytest.raises(ValueError, match="validation_split: works on arrays only"):
        model.fit(batches_of(x, y), validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="x: the generator yielded no batches"):
        model.fit(iter([]), verbose=0)
    with pytest.raises(ValueError, match="x: the PyDataset yielded no batches"):
        model.predict(Batches(x[:0]), verbose=0)
    with pytest.raises(ValueError, match="steps_per_epoch: expected an int >= 1"):
        model.fit(batches_of(x, y), steps_per_epoch=-1, verbose=0)

    class Endless(PyDataset):
        num_batches = None

        def __getitem__(self, index):
            return x[:8], y[:8]

    with pytest.raises(ValueError, match="steps_per_epoch: expected a number of batches for a "
                                         "PyDataset without a length"):
        model.fit(Endless(), verbose=0)
    counter = BatchCounter()
    model.fit(Endless(), steps_per_epoch=3, epochs=2, callbacks=[counter], verbose=0)
    assert counter.counts == [3, 3]


def test_class_weight_applies_to_generator_batches():
    x, y, _ = data()
    weights = {0: 1.0, 1: 3.0}
    arrays, streamed = classifier(), classifier()
    arrays.fit(x, y, class_weight=weights, batch_size=BATCH, shuffle=False, verbose=0)
    streamed.fit(batches_of(x, y), class_weight=weights, verbose=0)
    assert_same_model(arrays, streamed)


def test_batches_are_converted_as_arrays_are():
    # float64 inputs become float32, integer labels feed the sparse loss, lists are tuples.
    rng = np.random.default_rng(8)
    x = rng.normal(size=(64, 5))
    labels = rng.integers(0, 3, 64)
    models = []
    for _ in range(2):
        nerve.utils.set_random_seed(1)
        model = nerve.Sequential([layers.Input(shape=(5,)), layers.Dense(3, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        models.append(model)
    reference = models[0].fit(x, labels, batch_size=16, shuffle=False, verbose=0).history
    stream = ([x[s:s + 16].tolist(), labels[s:s + 16]] for s in range(0, 64, 16))
    assert models[1].fit(stream, verbose=0).history == reference
    assert_same_model(*models)
    with pytest.raises(ValueError, match=r"y of generator batch 0: expected class labels in "
                                         r"\[0, 3\)"):
        models[1].fit(iter([(x[:4], np.array([0, 1, 2, 3]))]), verbose=0)


def test_finite_data_whose_float32_sum_overflows_is_accepted_and_inf_is_not():
    from nerve.layers import Dense
    from nerve.models import Sequential

    x = np.full((8, 2), 3e38, np.float32)  # finite, but the float32 sum is inf
    y = np.zeros((8, 1), np.float32)
    model = Sequential([Dense(1, input_dim=2)])
    model.compile(loss="mse", optimizer="sgd")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning from the check either
        assert model.predict(x, verbose=0).shape == (8, 1)
    x[5, 1] = np.inf
    with pytest.raises(ValueError, match=r"x: expected finite numbers, received inf at index \(5, 1\)"):
        model.fit(x, y, verbose=0)
