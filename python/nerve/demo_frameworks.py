"""The demo's frameworks training one network: nerve, the same network as a NumPy user writes
it (nerve.numpy_convnet: forward, backward and Adam in plain NumPy) and PyTorch when it is
installed. All three start from the NumPy network's initial weights and train with Adam
(Keras's defaults) for the same epochs and batch size, each with the same number of threads and
shuffling with its own generator; each reports its loss per epoch, wall time and test accuracy.
"""
import importlib.util
import time
from dataclasses import dataclass

import numpy as np

import nerve
from nerve import numpy_convnet as nc
from nerve._progress import ProgressBar
from nerve.callbacks import Callback

NUMPY_LOOP = "plain NumPy loop"


@dataclass
class Result:
    framework: str
    losses: list  # mean training loss per epoch
    seconds: float  # wall time of the training loop
    accuracy: float  # on the test set

    @property
    def seconds_per_epoch(self):
        return self.seconds / len(self.losses)


class EpochProgress(Callback):
    """One progress bar over all epochs: a 150-epoch run stays on one line."""

    def __init__(self, label):
        super().__init__()
        self.label = label

    def on_train_begin(self, logs=None):
        self.bar = start_progress(self.label, self.params["epochs"])

    def on_epoch_end(self, epoch, logs=None):
        self.bar.update(epoch + 1, logs)

    def on_train_end(self, logs=None):
        self.bar.finish(logs)


def start_progress(label, epochs):
    print(f"   {label}")
    return ProgressBar(epochs, unit="epoch")


def torch_version():
    """PyTorch's version, or None where it is not installed (imported only when it is)."""
    if importlib.util.find_spec("torch") is None:
        return None
    import torch
    return torch.__version__


def accuracy(outputs, labels, threshold=0.5):
    """The share of `labels` that `outputs` get right: the argmax, or for one output the
    threshold (0.5 for a probability, 0 for a logit)."""
    predicted = (outputs[:, 0] > threshold) if outputs.shape[1] == 1 else outputs.argmax(axis=1)
    return float(np.mean(predicted == labels))


# ---- nerve --------------------------------------------------------------------------------------
def nerve_twin(net, input_shape):
    """`net` as a compiled nerve Sequential with its current weights; the last Dense gets the
    sigmoid or softmax that the NumPy loss applies to the logits."""
    layers, binary = nerve.layers, net.loss == "binary_crossentropy"
    stack = [nerve.Input(input_shape)]
    for index, layer in enumerate(net.layers):
        if isinstance(layer, nc.Conv2D):
            stack.append(layers.Conv2D(layer.filters, (layer.kernel_size,) * 2,
                                       activation=layer.activation, padding=layer.padding))
        elif isinstance(layer, nc.MaxPooling2D):
            stack.append(layers.MaxPooling2D((layer.pool,) * 2))
        elif isinstance(layer, nc.Flatten):
            stack.append(layers.Flatten())
        else:
            last = index == len(net.layers) - 1
            activation = ("sigmoid" if binary else "softmax") if last else layer.activation
            stack.append(layers.Dense(layer.units, activation=activation))
    model = nerve.Sequential(stack)
    model.compile(loss=net.loss if binary else "sparse_categorical_crossentropy",
                  optimizer="adam")
    model.set_weights([p.copy() for p in net.params])
    return model


def train_nerve(model, data, epochs, batch_size, seed):
    x_train, y_train, x_test, y_test = data
    nerve.utils.set_random_seed(seed)
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0,
                        callbacks=[EpochProgress("nerve")])
    seconds = time.perf_counter() - start
    return Result("nerve", history.history["loss"], seconds,
                  accuracy(model.predict(x_test, verbose=0), y_test))


# ---- plain NumPy --------------------------------------------------------------------------------
def train_numpy(net, data, epochs, batch_size):
    """The NumPy loop, its BLAS limited to nerve's thread count (threadpoolctl comes with
    scikit-learn, which the demo needs)."""
    from threadpoolctl import threadpool_limits

    x_train, y_train, x_test, y_test = data
    binary = net.loss == "binary_crossentropy"
    targets = y_train[:, None].astype(net.dtype) if binary \
        else np.eye(net.params[-1].shape[0], dtype=net.dtype)[y_train]
    bar, losses = start_progress(NUMPY_LOOP, epochs), []
    with threadpool_limits(nerve.get_num_threads()):
        start = time.perf_counter()
        for epoch in range(epochs):
            losses.append(net.fit_epoch(x_train, targets, batch_size))
            bar.update(epoch + 1, {"loss": losses[-1]})
        seconds = time.perf_counter() - start
    bar.finish({"loss": losses[-1]})
    return Result(NUMPY_LOOP, losses, seconds, accuracy(net.predict(x_test), y_test))


# ---- PyTorch ------------------------------------------------------------------------------------
def torch_twin(net):
    """`net` as a torch.nn.Sequential with its current weights, giving logits. Images go in
    channels-first (PyTorch's layout); Flatten flattens channels-last, as nerve and NumPy do,
    so the first Dense's weights line up."""
    import torch
    from torch import nn

    class FlattenChannelsLast(nn.Module):
        def forward(self, x):
            return x.permute(0, 2, 3, 1).flatten(1)

    modules = []
    for layer in net.layers:
        if isinstance(layer, nc.Conv2D):
            conv = nn.Conv2d(layer.kernel.shape[2], layer.filters, layer.kernel_size,
                             padding=layer.padding)
            conv.weight.data = torch.from_numpy(layer.kernel.transpose(3, 2, 0, 1).copy())
            modules.append(conv)
        elif isinstance(layer, nc.MaxPooling2D):
            modules.append(nn.MaxPool2d(layer.pool))
        elif isinstance(layer, nc.Flatten):
            modules.append(FlattenChannelsLast())
        else:
            linear = nn.Linear(*layer.kernel.shape)
            linear.weight.data = torch.from_numpy(layer.kernel.T.copy())
            modules.append(linear)
        if layer.params:
            modules[-1].bias.data = torch.from_numpy(layer.bias.copy())
        if getattr(layer, "activation", None) == "relu":
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)


def train_torch(model, binary, data, epochs, batch_size, seed):
    """A PyTorch user's training loop for a torch_twin (of a binary or softmax network), on
    nerve's thread count."""
    import torch
    from torch import nn

    x_train, y_train, x_test, y_test = data
    torch.manual_seed(seed)
    torch.set_num_threads(nerve.get_num_threads())
    as_tensor = lambda x: torch.from_numpy(  # noqa: E731
        np.ascontiguousarray(x.transpose(0, 3, 1, 2) if x.ndim == 4 else x))
    inputs = as_tensor(x_train)
    targets = torch.from_numpy(y_train[:, None].astype(np.float32) if binary
                               else y_train.astype(np.int64))
    loss_function = nn.BCEWithLogitsLoss() if binary else nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    bar, losses = start_progress(f"PyTorch {torch.__version__}", epochs), []
    start = time.perf_counter()
    for epoch in range(epochs):
        order, total = torch.randperm(len(inputs)), 0.0
        for begin in range(0, len(inputs), batch_size):
            rows = order[begin:begin + batch_size]
            optimizer.zero_grad()
            loss = loss_function(model(inputs[rows]), targets[rows])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        losses.append(total / len(inputs))
        bar.update(epoch + 1, {"loss": losses[-1]})
    seconds = time.perf_counter() - start
    bar.finish({"loss": losses[-1]})
    with torch.no_grad():
        outputs = model(as_tensor(x_test)).numpy()
    return Result(f"PyTorch {torch.__version__}", losses, seconds,
                  accuracy(outputs, y_test, threshold=0.0))


def compare(make_net, data, epochs, batch_size, seed):
    """Results of nerve, the NumPy loop and (when installed) PyTorch, all from the initial
    weights of make_net()."""
    net = make_net()
    model = nerve_twin(net, data[0].shape[1:])
    torch_model = torch_twin(net) if torch_version() else None  # before net trains
    results = [train_nerve(model, data, epochs, batch_size, seed),
               train_numpy(net, data, epochs, batch_size)]
    if torch_model is not None:
        binary = net.loss == "binary_crossentropy"
        results.append(train_torch(torch_model, binary, data, epochs, batch_size, seed))
    return results
