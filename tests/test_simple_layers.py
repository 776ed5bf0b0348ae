"""The layers that need no kernels of their own (activation, preprocessing, reshaping and
spatial dropout layers): forward values against NumPy formulas, gradients against central
differences in float64 on the reference backend, and bad arguments and shapes."""
import numpy as np
import pytest

import nerve
from nerve import layers, ops
from helpers import central_difference


def away_from(x, points, gap=1e-3):
    """x with the values within `gap` of any kink in `points` moved off it."""
    x = x.copy()
    for p in points:
        near = np.abs(x - p) < gap
        x[near] = p + 2 * gap
    return x


def sample(shape, seed=0, low=-2.0, high=2.0, kinks=(0.0,)):
    x = np.random.default_rng(seed).uniform(low, high, size=shape)
    return away_from(x, kinks)


# ---- forward values ---------------------------------------------------------------------------

def relu_formula(x, max_value=None, negative_slope=0.0, threshold=0.0):
    top = x if max_value is None else np.minimum(x, max_value)
    return np.where(x > threshold, top, negative_slope * (x - threshold))


def softmax_formula(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


CASES = [
    (lambda: layers.ReLU(), lambda x: np.maximum(x, 0)),
    (lambda: layers.ReLU(negative_slope=0.1), lambda x: relu_formula(x, negative_slope=0.1)),
    (lambda: layers.ReLU(max_value=6.0), lambda x: relu_formula(x, 6.0)),
    (lambda: layers.ReLU(max_value=1.0, negative_slope=0.2, threshold=0.5),
     lambda x: relu_formula(x, 1.0, 0.2, 0.5)),
    (lambda: layers.ReLU(max_value=0.3, threshold=0.5), lambda x: relu_formula(x, 0.3, 0, 0.5)),
    (lambda: layers.LeakyReLU(), lambda x: np.where(x < 0, 0.3 * x, x)),
    (lambda: layers.LeakyReLU(negative_slope=0.05), lambda x: np.where(x < 0, 0.05 * x, x)),
    (lambda: layers.ELU(), lambda x: np.where(x > 0, x, np.expm1(x))),
    (lambda: layers.ELU(alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    (lambda: layers.Softmax(), lambda x: softmax_formula(x, -1)),
    (lambda: layers.Softmax(axis=1), lambda x: softmax_formula(x, 1)),
    (lambda: layers.Softmax(axis=2), lambda x: softmax_formula(x, 2)),
    (lambda: layers.Softmax(axis=(1, 2)), lambda x: softmax_formula(x, (1, 2))),
    (lambda: layers.Rescaling(1 / 255), lambda x: x / 255),
    (lambda: layers.Rescaling(2.0, offset=-1.0), lambda x: 2 * x - 1),
    (lambda: layers.Rescaling([1.0, 2.0, 3.0, 4.0], offset=[0.0, 1.0, 0.0, -1.0]),
     lambda x: x * [1, 2, 3, 4] + [0, 1, 0, -1]),
    (lambda: layers.Reshape((4, 3)), lambda x: x.reshape(len(x), 4, 3)),
    (lambda: layers.Reshape((-1, 2)), lambda x: x.reshape(len(x), 6, 2)),
    (lambda: layers.Permute((2, 1)), lambda x: x.transpose(0, 2, 1)),
    (lambda: layers.Normalization(mean=1.0, variance=4.0), lambda x: (x - 1) / 2),
    (lambda: layers.Normalization(mean=[0.0, 1.0, 2.0, 3.0], variance=[1.0, 4.0, 0.0, 9.0]),
     lambda x: (x - [0, 1, 2, 3]) / [1, 2, 1e-7, 3]),
    (lambda: layers.Normalization(mean=[0.0, 1.0, 2.0, 3.0], variance=[1.0, 4.0, 1.0, 9.0],
                                  invert=True),
     lambda x: x * [1, 2, 1, 3] + [0, 1, 2, 3]),
    (lambda: layers.Normalization(axis=1, mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 16.0]),
     lambda x: (x - np.array([1, 2, 3])[:, None]) / np.array([1, 2, 4])[:, None]),
    (lambda: layers.Normalization(axis=None, mean=0.5, variance=0.25), lambda x: (x - 0.5) / 0.5),
]


@pytest.mark.parametrize("backend", ["cpp", "numpy"])
@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_matches_the_formula(case, backend, dtype):
    make, formula = CASES[case]
    layer = make()
    layer.dtype = dtype
    x = sample((5, 3, 4), seed=case, kinks=(0.0, 0.5, 1.0, 0.3, 6.0)).astype(dtype)
    with nerve.use_backend(backend):
        y = layer(x)
    assert y.dtype == dtype
    tolerance = 1e-6 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(y, formula(x.astype(np.float64)), rtol=tolerance, atol=tolerance)


def test_relu_keras_example():
    x = np.array([[-10, -5, 0.0, 5, 10]], np.float32)
    y = layers.ReLU(max_value=10, negative_slope=0.5, threshold=0)(x)
    np.testing.assert_allclose(y, [[-5.0, -2.5, 0.0, 5.0, 10.0]])


def test_prelu_forward_with_its_alpha():
    layer = layers.PReLU(alpha_initializer=nerve.initializers.Constant(0.25), shared_axes=[1])
    x = sample((2, 3, 4))
    y = layer(x.astype(np.float32))
    assert layer.alpha.shape == (1, 4)
    np.testing.assert_allclose(y, np.where(x > 0, x, 0.25 * x), rtol=1e-6)


def test_prelu_default_alpha_is_zero_so_it_starts_as_relu():
    x = sample((3, 5)).astype(np.float32)
    layer = layers.PReLU()
    np.testing.assert_array_equal(layer(x), np.maximum(x, 0))
    assert layer.alpha.shape == (5,) and not layer.alpha.any()


def test_reshape_is_a_view_and_permute_a_copy():
    from nerve.graph.plan import Plan
    for layer, shares in ((layers.Reshape((6, 2)), True), (layers.Permute((2, 1)), False)):
        model = nerve.Sequential([layers.Input(shape=(3, 4)), layer])
        plan = Plan(model, nerve.get_backend(), 2, "predict")
        assert np.shares_memory(plan.x, plan.y) == shares


def test_spatial_dropout_drops_whole_channels():
    x = np.arange(1, 8 * 5 * 6 + 1, dtype=np.float32).reshape(8, 5, 6)
    kept = layers.SpatialDropout1D(0.5, seed=1)(x, training=True) != 0
    assert (kept == kept[:, :1, :]).all() and 0 < kept.mean() < 1
    images = np.ones((8, 3, 4, 5), np.float32)
    for data_format, channel_axis in (("channels_last", 3), ("channels_first", 1)):
        y = layers.SpatialDropout2D(0.5, data_format=data_format, seed=2)(images, training=True)
        first = np.take(y, [0], axis=channel_axis)
        spatial = tuple(a for a in (1, 2, 3) if a != channel_axis)
        # Each (sample, channel) is all kept (scaled by 2) or all dropped.
        assert set(np.unique(y)) == {0.0, 2.0} and first.size
        assert (y.min(axis=spatial) == y.max(axis=spatial)).all()
    np.testing.assert_array_equal(layers.SpatialDropout1D(0.5)(x), x)  # inference: identity


# ---- gradients --------------------------------------------------------------------------------

def plan_gradients_through(layer, x, cotangent):
    """(dx, weight gradients) of sum(layer(x) * cotangent) from a training plan: x is the
    weight of a probe layer that feeds `layer`, so the plan's backward pass reaches it."""
    class Probe(nerve.layers.Layer):
        def build(self, input_shape):
            self.inner = layer
            self.source = self.add_weight(shape=x.shape, initializer="zeros", dtype="float64",
                                          name="x")

        def call(self, inputs):
            y = self.inner(ops.multiply(self.source, 1.0))
            return ops.multiply(inputs, ops.sum(ops.multiply(y, cotangent)))

    inputs = nerve.Input(shape=(1,), dtype="float64")
    model = nerve.Model(inputs, Probe(dtype="float64")(inputs))
    model.weights[0].assign(x)
    model.compile(optimizer=nerve.optimizers.SGD(learning_rate=0.0), loss=lambda t, p: p)
    model.train_on_batch(np.ones((1, 1)), np.zeros((1, 1)))
    grads = [np.array(v._grad) for v in model.weights]
    return grads[0], grads[1:]


GRADIENT_CASES = [
    lambda: layers.ReLU(),
    lambda: layers.ReLU(negative_slope=0.1),
    lambda: layers.ReLU(max_value=1.0, negative_slope=0.2, threshold=0.5),
    lambda: layers.LeakyReLU(),
    lambda: layers.ELU(alpha=0.7),
    lambda: layers.Softmax(),
    lambda: layers.Softmax(axis=1),
    lambda: layers.Softmax(axis=(1, 2)),
    lambda: layers.PReLU(alpha_initializer=nerve.initializers.RandomUniform(0.1, 0.5)),
    lambda: layers.PReLU(alpha_initializer=nerve.initializers.RandomUniform(0.1, 0.5),
                         shared_axes=[1]),
    lambda: layers.Rescaling([1.0, 2.0, -3.0, 0.5], offset=1.0),
    lambda: layers.Normalization(mean=[0.0, 1.0, 2.0, 3.0], variance=[1.0, 4.0, 0.5, 9.0]),
    lambda: layers.Normalization(mean=0.5, variance=2.0, invert=True),
    lambda: layers.Reshape((2, -1)),
    lambda: layers.Permute((2, 1)),
]


@pytest.mark.parametrize("case", range(len(GRADIENT_CASES)))
def test_gradients_match_central_differences(case):
    layer = GRADIENT_CASES[case]()
    layer.dtype = "float64"
    x = sample((3, 3, 4), seed=10 + case, kinks=(0.0, 0.5, 1.0))
    cotangent = np.random.default_rng(case).uniform(0.5, 1.5, size=(3,) + tuple(
        layer.compute_output_shape((3, 3, 4))[1:]))
    with nerve.use_backend("numpy"):
        dx, dweights = plan_gradients_through(layer, x, cotangent)

        def total(v):
            return float(np.sum(layer(v) * cotangent))
        np.testing.assert_allclose(dx, central_difference(total, x.copy()), rtol=1e-6,
                                   atol=1e-8)
        assert len(dweights) == len(layer.trainable_weights)
        for variable, grad in zip(layer.trainable_weights, dweights):
            def of_weight(w, variable=variable):
                variable.value[...] = w
                return total(x)
            numeric = central_difference(of_weight, variable.numpy())
            np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_softmax_last_axis_uses_the_kernel_and_fuses_with_the_loss():
    assert layers.Softmax().output_activation == "softmax"
    assert layers.Softmax(axis=1).output_activation is None
    assert layers.ReLU().output_activation == "relu"
    assert layers.ReLU(max_value=6).output_activation is None


# ---- bad arguments and shapes -----------------------------------------------------------------

@pytest.mark.parametrize("make, message", [
    (lambda: layers.ReLU(max_value=-1), "ReLU: max_value expected None or a number >= 0"),
    (lambda: layers.ReLU(negative_slope=None), "ReLU: negative_slope expected a number >= 0"),
    (lambda: layers.ReLU(threshold=-0.5), "ReLU: threshold expected a number >= 0"),
    (lambda: layers.LeakyReLU(negative_slope=-0.1), "LeakyReLU: negative_slope expected"),
    (lambda: layers.ELU(alpha="big"), "ELU: alpha expected a number"),
    (lambda: layers.Softmax(axis="last"), "Softmax: axis expected an int or a tuple of ints"),
    (lambda: layers.PReLU(shared_axes=[0]), "PReLU: shared_axes expected ints >= 1"),
    (lambda: layers.Reshape((2, -1, -1)), "Reshape: target_shape expected positive ints"),
    (lambda: layers.Reshape((0, 3)), "Reshape: target_shape expected positive ints"),
    (lambda: layers.Reshape("ab"), "Reshape: target_shape expected a tuple of ints"),
    (lambda: layers.Permute((1, 3)), r"Permute: dims expected a permutation of 1\.\.2"),
    (lambda: layers.Permute((0, 1)), r"Permute: dims expected a permutation"),
    (lambda: layers.Rescaling("x"), "scale expected a number"),
    (lambda: layers.Normalization(mean=1.0), "pass both mean and variance"),
    (lambda: layers.Normalization(mean=[1.0, 2.0], variance=[1.0]), "the same shape"),
    (lambda: layers.Normalization(axis=-1, mean=np.ones((2, 2)), variance=np.ones((2, 2))),
     "mean has rank 2"),
    (lambda: layers.Normalization(axis="x"), "Normalization: axis expected an int"),
    (lambda: layers.SpatialDropout1D(1.5), "rate: expected a number in"),
    (lambda: layers.SpatialDropout2D(0.5, data_format="nhwc"), "SpatialDropout2D: data_format"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("make, shape, message", [
    (lambda: layers.Reshape((5, 2), name="rs"), (3, 4), r"rs: cannot reshape samples of "
                                                         r"shape \(3, 4\) \(12 values\)"),
    (lambda: layers.Reshape((-1, 5), name="rs"), (3, 4), "rs: cannot reshape"),
    (lambda: layers.Permute((2, 1), name="pm"), (3, 4, 5), "pm: dims \\(2, 1\\) permute inputs "
                                                             "of rank 3"),
    (lambda: layers.SpatialDropout1D(0.5, name="sd"), (3, 4, 5), "sd: SpatialDropout1D takes "
                                                                 "inputs of rank 3"),
    (lambda: layers.SpatialDropout2D(0.5, name="sd"), (3, 4), "sd: SpatialDropout2D takes "
                                                              "inputs of rank 4"),
    (lambda: layers.Softmax(axis=3, name="sm"), (3, 4), "sm: axis 3 is out of range"),
    (lambda: layers.PReLU(shared_axes=[3], name="pr"), (3, 4), "pr: shared_axes \\[3\\]"),
    (lambda: layers.Normalization(axis=3, name="nm"), (3, 4), "nm: axis \\(3,\\) is out of "
                                                              "range"),
    (lambda: layers.Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0], name="nm"), (3, 4),
     "nm: mean and variance of shape \\(2,\\) do not broadcast"),
    (lambda: layers.Rescaling([1.0, 2.0], name="rc"), (3, 4), "rc: scale \\[1.0, 2.0\\]"),
])
def test_wrong_input_shapes_name_the_layer(make, shape, message):
    with pytest.raises(ValueError, match=message):
        make()(nerve.Input(shape=shape))


def test_built_layers_refuse_other_feature_sizes():
    prelu = layers.PReLU(name="pr")
    prelu(nerve.Input(shape=(4,)))
    with pytest.raises(ValueError, match="layer 'pr' was built for alpha of shape"):
        prelu(nerve.Input(shape=(5,)))
    normalization = layers.Normalization(name="nm")
    normalization.adapt(np.ones((3, 4)))
    with pytest.raises(ValueError, match="layer 'nm' was built for inputs like"):
        normalization(nerve.Input(shape=(5,)))


def test_leaky_relu_accepts_the_legacy_alpha_with_a_warning():
    with pytest.warns(DeprecationWarning, match="alpha"):
        layer = layers.LeakyReLU(alpha=0.1)
    assert layer.negative_slope == 0.1 and "alpha" not in layer.get_config()
