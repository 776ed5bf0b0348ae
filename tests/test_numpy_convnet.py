"""nerve.numpy_convnet, the plain NumPy convnet the demo and bench/convnet.py time nerve against:
its backward pass by central differences (float64), its Adam and loss against nerve's (which
the agreement tests hold to Keras), and, once nerve has Conv2D, against nerve's convnet."""
import numpy as np
import pytest

import nerve
from nerve import numpy_convnet as nc


def tiny_net(seed=3, learning_rate=1e-3):
    """Every layer kind; "same" padding on both convolutions so col2im's crop is exercised."""
    return nc.ConvNet([nc.Conv2D(3, 3, padding="same"), nc.MaxPooling2D(2),
                       nc.Conv2D(4, 2, padding="same"), nc.Conv2D(2, 2), nc.Flatten(),
                       nc.Dropout(0.3), nc.Dense(5, activation="relu"), nc.Dense(3)],
                      input_shape=(7, 6, 2), seed=seed, dtype=np.float64,
                      learning_rate=learning_rate)


def tiny_batch(rows=4):
    rng = np.random.default_rng(11)
    return rng.standard_normal((rows, 7, 6, 2)), np.eye(3)[rng.integers(0, 3, rows)]


def loss_with_fixed_dropout(net, x, y, **kwargs):
    """The same dropout mask on every call, so the loss is a smooth function of the weights."""
    net.layers[5].rng = np.random.default_rng(5)
    return net.loss_and_gradients(x, y, **kwargs)


def central_difference(f, array, h=1e-6):
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + h
        up = f()
        array[index] = saved - h
        down = f()
        array[index] = saved
        grad[index] = (up - down) / (2 * h)
    return grad


def test_shapes_follow_keras():
    net = tiny_net()
    assert [p.shape for p in net.params] == [(3, 3, 2, 3), (3,), (2, 2, 3, 4), (4,),
                                             (2, 2, 4, 2), (2,), (8, 5), (5,), (5, 3), (3,)]
    x, _ = tiny_batch()
    assert net.logits(x).shape == (4, 3)
    probabilities = net.predict(x, batch_size=3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1)


def test_weight_gradients_match_central_differences():
    net, (x, y) = tiny_net(), tiny_batch()
    loss_with_fixed_dropout(net, x, y)
    analytic = [g.copy() for layer in net.layers for g in layer.grads]
    for param, grad in zip(net.params, analytic):
        numeric = central_difference(lambda: loss_with_fixed_dropout(net, x, y), param)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_input_gradient_matches_central_differences():
    net, (x, y) = tiny_net(), tiny_batch()
    _, dx = loss_with_fixed_dropout(net, x, y, input_gradient=True)
    numeric = central_difference(lambda: loss_with_fixed_dropout(net, x, y,
                                                                 input_gradient=True)[0], x)
    np.testing.assert_allclose(dx, numeric, rtol=1e-5, atol=1e-8)


def test_max_pooling_passes_the_gradient_to_the_maximum_and_drops_the_odd_edge():
    pool = nc.MaxPooling2D(2)
    assert pool.build((5, 4, 1), None, np.float64) == (2, 2, 1)
    x = np.arange(20.0).reshape(1, 5, 4, 1)
    np.testing.assert_array_equal(pool.forward(x, False)[0, :, :, 0], [[5, 7], [13, 15]])
    dx = pool.backward(np.ones((1, 2, 2, 1)), True)[0, :, :, 0]
    expected = np.zeros((5, 4))
    expected[[1, 1, 3, 3], [1, 3, 1, 3]] = 1
    np.testing.assert_array_equal(dx, expected)


def test_training_lowers_the_loss():
    x, y = tiny_batch(rows=24)
    net = tiny_net(learning_rate=0.01)
    first = net.fit_epoch(x, y, batch_size=8)
    for _ in range(30):
        last = net.fit_epoch(x, y, batch_size=8)
    assert last < 0.6 * first


def assert_trains_like_nerve(net, nerve_layers, x, y, tolerance):
    """From the numpy net's initial weights, 3 epochs of fixed batches of 16 on each side end
    at the same weights, losses and predictions."""
    model = nerve.Sequential([nerve.Input(x.shape[1:]), *nerve_layers])
    model.compile(optimizer=nerve.optimizers.Adam(1e-3), loss=net.loss)
    model.set_weights(net.params)
    losses = [net.fit_epoch(x, y, batch_size=16, shuffle=False) for _ in range(3)]
    history = model.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    for theirs, ours in zip(model.get_weights(), net.params):
        np.testing.assert_allclose(theirs, ours, **tolerance)
    np.testing.assert_allclose(history.history["loss"], losses, rtol=tolerance["rtol"])
    np.testing.assert_allclose(model.predict(x, verbose=0), net.predict(x), **tolerance)


def test_adam_and_loss_match_nerve_on_a_dense_network():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3, 2, 1)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[rng.integers(0, 4, 40)]
    net = nc.ConvNet([nc.Flatten(), nc.Dense(8, activation="relu"), nc.Dense(4)],
                     input_shape=(3, 2, 1))
    layers = nerve.layers
    assert_trains_like_nerve(net, [layers.Flatten(), layers.Dense(8, activation="relu"),
                                   layers.Dense(4, activation="softmax")], x, y,
                             dict(rtol=1e-5, atol=1e-6))


def test_binary_crossentropy_trains_like_nerve_on_the_demo_mlp():
    """The breast-cancer network: Dense(10, relu) -> Dense(1, sigmoid)."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 30)).astype(np.float32)
    y = (x[:, :1] + 0.5 * rng.standard_normal((40, 1)) > 0).astype(np.float32)
    net = nc.ConvNet([nc.Dense(10, activation="relu"), nc.Dense(1)], input_shape=(30,),
                     loss="binary_crossentropy")
    layers = nerve.layers
    assert_trains_like_nerve(net, [layers.Dense(10, activation="relu"),
                                   layers.Dense(1, activation="sigmoid")], x, y,
                             dict(rtol=1e-4, atol=1e-5))
    assert net.predict(x).shape == (40, 1)


def test_binary_crossentropy_gradients_match_central_differences():
    """Two sigmoid outputs, so the mean over the outputs (Keras's) counts."""
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((6, 3)), rng.integers(0, 2, (6, 2)).astype(np.float64)
    net = nc.ConvNet([nc.Dense(4, activation="relu"), nc.Dense(2)], input_shape=(3,),
                     dtype=np.float64, loss="binary_crossentropy")
    net.loss_and_gradients(x, y)
    analytic = [g.copy() for layer in net.layers for g in layer.grads]
    for param, grad in zip(net.params, analytic):
        numeric = central_difference(lambda: net.loss_and_gradients(x, y), param)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_an_unknown_loss_is_refused_by_name():
    with pytest.raises(ValueError, match="loss: expected one of .*received 'hinge'"):
        nc.ConvNet([nc.Dense(1)], input_shape=(3,), loss="hinge")


@pytest.mark.skipif(not hasattr(nerve.layers, "Conv2D"), reason="nerve.layers has no Conv2D")
def test_nerve_convnet_trains_like_the_numpy_one():
    """The demo's architecture ("same" then "valid" convolutions, pooling between)."""
    rng = np.random.default_rng(1)
    x = rng.random((48, 8, 8, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 48)]
    net = nc.ConvNet([nc.Conv2D(4, 3, padding="same"), nc.MaxPooling2D(2), nc.Conv2D(6, 3),
                      nc.Flatten(), nc.Dense(10)], input_shape=(8, 8, 1))
    layers = nerve.layers
    assert_trains_like_nerve(net, [layers.Conv2D(4, (3, 3), activation="relu", padding="same"),
                                   layers.MaxPooling2D((2, 2)),
                                   layers.Conv2D(6, (3, 3), activation="relu"), layers.Flatten(),
                                   layers.Dense(10, activation="softmax")], x, y,
                             dict(rtol=1e-4, atol=1e-5))
