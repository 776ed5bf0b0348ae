"""A convnet in plain NumPy, as a NumPy user writes one: convolutions as one matmul over
im2col patches (a stride-tricks view copied into a matrix), max pooling that keeps its argmax,
a hand-written backward pass and Adam.

It is the yardstick the demo and bench/convnet.py time nerve against; it lives in the package
because the demo is installed and bench/ is not. It follows Keras's conventions, so the same
network means the same maths: channels_last (NHWC) data, kernels (kh, kw, in, out), Glorot
uniform kernels and zero biases, inverted dropout, softmax cross-entropy averaged over the
batch, Adam with Keras's defaults (lr 1e-3, betas 0.9/0.999, epsilon 1e-7).

    net = ConvNet([Conv2D(32, 3), MaxPooling2D(2), Conv2D(64, 3), MaxPooling2D(2), Flatten(),
                   Dropout(0.5), Dense(10)], input_shape=(28, 28, 1))
    net.fit_epoch(x_train, y_onehot, batch_size=128)
    probabilities = net.predict(x_test)

The last layer gives logits; `predict` applies the softmax and training uses the fused
softmax cross-entropy gradient (p - y) / batch. With loss="binary_crossentropy" (a Dense(1)
last layer: the demo's breast-cancer MLP) the logits go through a sigmoid instead, with Keras's
mean over the outputs, and the gradient is (p - y) / (batch * outputs).
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

from .layers.spatial import padding_amounts

__all__ = ["Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense", "ConvNet"]


def _glorot(rng, shape, fan_in, fan_out, dtype):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, shape).astype(dtype)


class Conv2D:
    """Stride 1, padding "valid" or "same", optional relu."""

    def __init__(self, filters, kernel_size, padding="valid", activation="relu"):
        self.filters, self.kernel_size = filters, kernel_size
        self.padding, self.activation = padding, activation

    def build(self, input_shape, rng, dtype):
        height, width, channels = input_shape
        k = self.kernel_size
        self.pads = [padding_amounts(n, k, 1, 1, self.padding) for n in (height, width)]
        # Keras's fans for a conv kernel: receptive field times input / output channels.
        self.kernel = _glorot(rng, (k, k, channels, self.filters), k * k * channels,
                              k * k * self.filters, dtype)
        self.bias = np.zeros(self.filters, dtype)
        self.params = [self.kernel, self.bias]
        return (height + sum(self.pads[0]) - k + 1, width + sum(self.pads[1]) - k + 1,
                self.filters)

    def _patches(self, x):
        """(n, out_h, out_w, kh, kw, c): a read-only view, no copy."""
        n, h, w, c = x.shape
        k = self.kernel_size
        sn, sh, sw, sc = x.strides
        return as_strided(x, (n, h - k + 1, w - k + 1, k, k, c), (sn, sh, sw, sh, sw, sc),
                          writeable=False)

    def forward(self, x, training):
        (top, bottom), (left, right) = self.pads
        if top or bottom or left or right:
            x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
        patches = self._patches(x)
        self.padded_shape, out_shape = x.shape, patches.shape[:3]
        self.cols = patches.reshape(-1, self.kernel[..., 0].size)  # the im2col copy
        z = self.cols @ self.kernel.reshape(-1, self.filters) + self.bias
        if self.activation == "relu":
            np.maximum(z, 0, out=z)
            self.active = z > 0
        return z.reshape(*out_shape, self.filters)

    def backward(self, dy, need_dx):
        dz = dy.reshape(-1, self.filters)
        if self.activation == "relu":
            dz = dz * self.active
        self.grads = [(self.cols.T @ dz).reshape(self.kernel.shape), dz.sum(axis=0)]
        if not need_dx:
            return None
        k = self.kernel_size
        dcols = (dz @ self.kernel.reshape(-1, self.filters).T).reshape(
            *dy.shape[:3], k, k, self.kernel.shape[2])
        dx = np.zeros(self.padded_shape, dy.dtype)
        out_h, out_w = dy.shape[1:3]
        for i in range(k):  # col2im: each kernel offset adds its patch gradients back
            for j in range(k):
                dx[:, i:i + out_h, j:j + out_w] += dcols[:, :, :, i, j]
        (top, bottom), (left, right) = self.pads
        return dx[:, top:dx.shape[1] - bottom, left:dx.shape[2] - right]


class MaxPooling2D:
    """pool_size windows with strides = pool_size, "valid" (trailing rows/columns dropped)."""

    def __init__(self, pool_size=2):
        self.pool = pool_size

    def build(self, input_shape, rng, dtype):
        height, width, channels = input_shape
        self.params = []
        return height // self.pool, width // self.pool, channels

    def forward(self, x, training):
        n, h, w, c = x.shape
        p, out_h, out_w = self.pool, h // self.pool, w // self.pool
        windows = (x[:, :out_h * p, :out_w * p].reshape(n, out_h, p, out_w, p, c)
                   .transpose(0, 1, 3, 5, 2, 4).reshape(n, out_h, out_w, c, p * p))
        self.input_shape = x.shape
        self.argmax = windows.argmax(axis=-1)[..., None]
        return np.take_along_axis(windows, self.argmax, axis=-1)[..., 0]

    def backward(self, dy, need_dx):
        self.grads = []
        n, out_h, out_w, c = dy.shape
        p = self.pool
        windows = np.zeros((n, out_h, out_w, c, p * p), dy.dtype)
        np.put_along_axis(windows, self.argmax, dy[..., None], axis=-1)
        dx = np.zeros(self.input_shape, dy.dtype)
        dx[:, :out_h * p, :out_w * p] = (windows.reshape(n, out_h, out_w, c, p, p)
                                         .transpose(0, 1, 4, 2, 5, 3)
                                         .reshape(n, out_h * p, out_w * p, c))
        return dx


class Flatten:
    def build(self, input_shape, rng, dtype):
        self.params = []
        return (int(np.prod(input_shape)),)

    def forward(self, x, training):
        self.input_shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, dy, need_dx):
        self.grads = []
        return dy.reshape(self.input_shape)


class Dropout:
    """Zeroes a `rate` fraction in training and scales the rest by 1 / (1 - rate)."""

    def __init__(self, rate):
        self.rate = rate

    def build(self, input_shape, rng, dtype):
        self.params, self.rng = [], rng
        return input_shape

    def forward(self, x, training):
        if not training:
            self.mask = None
            return x
        self.mask = (self.rng.random(x.shape, dtype=x.dtype) >= self.rate) / x.dtype.type(
            1 - self.rate)
        return x * self.mask

    def backward(self, dy, need_dx):
        self.grads = []
        return dy if self.mask is None else dy * self.mask


class Dense:
    def __init__(self, units, activation=None):
        self.units, self.activation = units, activation

    def build(self, input_shape, rng, dtype):
        (features,) = input_shape
        self.kernel = _glorot(rng, (features, self.units), features, self.units, dtype)
        self.bias = np.zeros(self.units, dtype)
        self.params = [self.kernel, self.bias]
        return (self.units,)

    def forward(self, x, training):
        self.x = x
        z = x @ self.kernel + self.bias
        if self.activation == "relu":
            np.maximum(z, 0, out=z)
            self.active = z > 0
        return z

    def backward(self, dy, need_dx):
        if self.activation == "relu":
            dy = dy * self.active
        self.grads = [self.x.T @ dy, dy.sum(axis=0)]
        return dy @ self.kernel.T if need_dx else None


LOSSES = ("categorical_crossentropy", "binary_crossentropy")


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))  # the same function; exp(-z) would overflow


class ConvNet:
    """The layers in order, their weights drawn from `seed` (also the shuffles' and dropout's
    generator), trained with Adam on softmax (or sigmoid) cross-entropy."""

    def __init__(self, layers, input_shape, seed=0, dtype=np.float32, learning_rate=1e-3,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-7, loss="categorical_crossentropy"):
        if loss not in LOSSES:
            raise ValueError(f"loss: expected one of {LOSSES}, received {loss!r}")
        self.layers, self.dtype, self.loss = layers, np.dtype(dtype), loss
        self.rng = np.random.default_rng(seed)
        shape = tuple(input_shape)
        for layer in layers:
            shape = layer.build(shape, self.rng, self.dtype)
        self.params = [p for layer in layers for p in layer.params]
        self.moments = [np.zeros_like(p) for p in self.params]
        self.velocities = [np.zeros_like(p) for p in self.params]
        self.learning_rate, self.beta_1, self.beta_2 = learning_rate, beta_1, beta_2
        self.epsilon, self.steps = epsilon, 0

    def logits(self, x, training=False):
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def predict(self, x, batch_size=128):
        """Softmax (or sigmoid) probabilities, batch by batch."""
        out = []
        for begin in range(0, len(x), batch_size):
            z = self.logits(np.asarray(x[begin:begin + batch_size], self.dtype))
            if self.loss == "binary_crossentropy":
                out.append(_sigmoid(z))
            else:
                e = np.exp(z - z.max(axis=1, keepdims=True))
                out.append(e / e.sum(axis=1, keepdims=True))
        return np.concatenate(out)

    def _loss_and_logit_gradient(self, z, y):
        """The batch's mean loss and its gradient with respect to the logits z."""
        if self.loss == "binary_crossentropy":
            # -log p = log(1 + e^-z), -log(1 - p) = log(1 + e^z): no overflow, no log(0)
            loss = float((y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)).mean())
            return loss, (_sigmoid(z) - y) / self.dtype.type(z.size)
        shifted = z - z.max(axis=1, keepdims=True)
        log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -float((y * (shifted - log_sum)).sum()) / len(z)
        return loss, (np.exp(shifted - log_sum) - y) / self.dtype.type(len(z))

    def loss_and_gradients(self, x, y, training=True, input_gradient=False):
        """Mean cross-entropy of the batch; leaves each layer's `grads` beside its `params`.
        With input_gradient, returns (loss, d loss / d x) instead."""
        loss, dy = self._loss_and_logit_gradient(self.logits(x, training), y)
        for i in range(len(self.layers) - 1, -1, -1):
            dy = self.layers[i].backward(dy, need_dx=bool(i) or input_gradient)
        return (loss, dy) if input_gradient else loss

    def train_step(self, x, y):
        loss = self.loss_and_gradients(x, y)
        self.steps += 1
        b1, b2 = self.beta_1, self.beta_2
        scale = self.learning_rate * (1 - b2 ** self.steps) ** 0.5 / (1 - b1 ** self.steps)
        grads = [g for layer in self.layers for g in layer.grads]
        for p, g, m, v in zip(self.params, grads, self.moments, self.velocities):
            m += (1 - b1) * (g - m)
            v += (1 - b2) * (g * g - v)
            p -= scale * m / (np.sqrt(v) + self.epsilon)
        return loss

    def fit_epoch(self, x, y, batch_size=128, shuffle=True):
        """One pass over (x, y one-hot) in batches; returns the epoch's mean loss per sample
        (Keras's History value: batches weighted by their size)."""
        order = self.rng.permutation(len(x)) if shuffle else np.arange(len(x))
        total = 0.0
        for begin in range(0, len(x), batch_size):
            rows = order[begin:begin + batch_size]
            total += len(rows) * self.train_step(np.asarray(x[rows], self.dtype),
                                                 np.asarray(y[rows], self.dtype))
        return total / len(x)
