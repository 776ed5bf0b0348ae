"""What an adversarial tester did to a model's state and output streams: a failed add()
leaves the model as it was; no sys.stdout, or one that cannot encode Keras's characters,
changes what is shown, never whether training works."""
import io
import sys

import numpy as np
import pytest

import nerve
from nerve import callbacks, layers

X = np.linspace(-1, 1, 16, dtype=np.float32).reshape(8, 2)
Y = np.array([0, 1, 0, 1, 1, 0, 1, 0], np.float32)


def trained_model():
    nerve.utils.set_random_seed(1)
    model = nerve.Sequential([layers.Dense(3, input_dim=2, activation="relu"),
                              layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    model.fit(X, Y, epochs=2, verbose=0)
    return model


# ---- 8: model state after errors ------------------------------------------------------------
class Refusing(nerve.initializers.Initializer):
    def __call__(self, shape, dtype=None):
        raise RuntimeError("this initializer refuses")


@pytest.mark.parametrize("make_layer, error", [
    (lambda: layers.Dense(2, kernel_initializer=Refusing()), RuntimeError),
    (lambda: layers.Dense(2, bias_initializer=Refusing()), RuntimeError),
    (lambda: layers.Dense(10**13), MemoryError),  # a 40 TB kernel
])
def test_a_failed_add_leaves_the_model_as_it_was(make_layer, error):
    model = trained_model()
    before = dict(layers=model.layers, weights=model.get_weights(), output=model.predict(X),
                  shape=model.output_shape, nodes=[list(l._inbound_nodes) for l in model.layers],
                  params=model._params, plans=dict(model._plans), built=model.built)
    layer = make_layer()
    with pytest.raises(error):
        model.add(layer)
    assert model.layers == before["layers"] and model.built == before["built"]
    assert model.output_shape == before["shape"] and model._params is before["params"]
    assert dict(model._plans) == before["plans"]
    assert [list(l._inbound_nodes) for l in model.layers] == before["nodes"]
    assert layer._inbound_nodes == []
    for now, then in zip(model.get_weights(), before["weights"]):
        np.testing.assert_array_equal(now, then)
    np.testing.assert_array_equal(model.predict(X), before["output"])
    model.fit(X, Y, verbose=0)  # and it still trains, and takes another layer
    model.add(layers.Dense(2))
    assert model.predict(X).shape == (8, 2)


def test_a_failed_first_add_leaves_no_input_behind():
    model = nerve.Sequential()
    with pytest.raises(RuntimeError, match="refuses"):
        model.add(layers.Dense(2, input_dim=3, kernel_initializer=Refusing()))
    assert model.layers == [] and not model.built
    model.add(layers.Dense(1, input_dim=5))
    assert model.input_shape == (None, 5)


# ---- 10: output streams ---------------------------------------------------------------------
class Printer(callbacks.Callback):
    """A callback printing as nerve's own callbacks do."""

    def on_epoch_end(self, epoch, logs=None):
        from nerve._progress import print_message
        print_message(f"epoch {epoch} done")


def _run_everything(model):
    model.summary()
    history = model.fit(X, Y, epochs=3, verbose=1, validation_split=0.25,
                        callbacks=[Printer(), callbacks.EarlyStopping(patience=0, verbose=1,
                                                                      min_delta=10.0)])
    model.fit(X, Y, epochs=1, verbose=2)
    model.evaluate(X, Y, verbose=1)
    model.predict(X, verbose=1)
    return history


def test_without_a_stdout_progress_is_skipped_silently(monkeypatch):
    model = trained_model()
    monkeypatch.setattr(sys, "stdout", None)
    history = _run_everything(model)
    assert len(history.history["loss"]) == 2  # EarlyStopping still acted


@pytest.mark.parametrize("encoding", ["ascii", "cp1252"])
def test_a_stream_that_cannot_encode_box_drawing_gets_plain_characters(monkeypatch, encoding):
    model = trained_model()
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="strict")
    monkeypatch.setattr(sys, "stdout", stream)
    _run_everything(model)
    stream.flush()
    text = raw.getvalue().decode(encoding)
    assert "+=" in text and "| dense" in text and "Total params" in text
    assert "1/1 ====================" in text  # the progress bar's own fallback
    assert "Epoch 2: early stopping" in text and "epoch 0 done" in text


def test_a_unicode_stream_still_gets_keras_box_drawing(capsys):
    trained_model().summary()
    text = capsys.readouterr().out
    assert "┏━" in text and "│ dense" in text and "+=" not in text


def test_a_name_the_stream_cannot_encode_is_shown_with_question_marks(monkeypatch):
    model = nerve.Sequential([layers.Dense(1, input_dim=2, name="schicht_\u00fc")],
                             name="mod\u00e8le")
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="ascii"))
    model.summary()
    sys.stdout.flush()
    text = raw.getvalue().decode("ascii")
    assert 'Model: "mod?le"' in text and "| schicht_? (Dense)" in text
