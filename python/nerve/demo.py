"""A one-minute tour: `pip install ".[demo]" && python -m nerve.demo`

Trains two small networks on scikit-learn's bundled data sets (nothing is downloaded), reports
their test accuracy, times the same training on the C++ backend and on the pure-NumPy reference
backend, then trains a small convnet on the 8x8 digit images against the same network written
as a plain NumPy im2col loop (nerve.numpy_convnet), and saves a plot of the loss curves when
matplotlib is installed.
"""
import argparse
import os
import sys
import time

import numpy as np

import nerve
from nerve import Dense, Input, Sequential
from nerve import numpy_convnet as nc
from nerve._progress import ProgressBar
from nerve.callbacks import Callback

SEED = 42
PLOT_NAME = "nerve-demo-loss.png"


class EpochProgress(Callback):
    """One progress bar over all epochs: a 150-epoch run stays on one line."""

    def __init__(self, label):
        super().__init__()
        self.label = label

    def on_train_begin(self, logs=None):
        print(f"   {self.label}")
        self.bar = ProgressBar(self.params["epochs"], unit="epoch")

    def on_epoch_end(self, epoch, logs=None):
        self.bar.update(epoch + 1, logs)

    def on_train_end(self, logs=None):
        self.bar.finish(logs)


def developers_model(input_dim):
    """The DEVELOPERS program's network (its input_dim set to the data's)."""
    model = Sequential()
    model.add(Dense(10, input_dim=input_dim, activation="relu"))
    model.add(Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def digits_model(input_dim):
    model = Sequential()
    model.add(Dense(64, input_dim=input_dim, activation="relu"))
    model.add(Dense(10, activation="softmax"))
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])
    return model


CONVNET = ("Conv2D(16, 3x3, relu, same) -> MaxPooling2D(2) -> Conv2D(32, 3x3, relu) -> "
           "Flatten -> Dense(10, softmax), adam")


def numpy_convnet():
    """The convnet as a NumPy user writes it; nerve's copy starts from its weights."""
    return nc.ConvNet([nc.Conv2D(16, 3, padding="same"), nc.MaxPooling2D(2), nc.Conv2D(32, 3),
                       nc.Flatten(), nc.Dense(10)], input_shape=(8, 8, 1), seed=SEED)


def nerve_convnet(initial_weights):
    layers = nerve.layers
    model = Sequential([Input((8, 8, 1)),
                        layers.Conv2D(16, (3, 3), activation="relu", padding="same"),
                        layers.MaxPooling2D((2, 2)),
                        layers.Conv2D(32, (3, 3), activation="relu"),
                        layers.Flatten(),
                        Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.set_weights(initial_weights)
    return model


def split(x, y):
    """A fixed stratified 80/20 split: x_train, y_train, x_test, y_test as float32 x."""
    from sklearn.model_selection import train_test_split

    x_train, x_test, y_train, y_test = train_test_split(
        x.astype(np.float32), y, test_size=0.2, random_state=SEED, stratify=y)
    return x_train, y_train, x_test, y_test


def split_and_standardise(x, y):
    """split(); features scaled with the training rows' statistics."""
    x_train, y_train, x_test, y_test = split(x, y)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std[std == 0] = 1  # constant pixels of the digits
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test


def train(make_model, data, epochs, batch_size, backend):
    """Train from the same seed (same initial weights, same shuffles); returns the model, its
    History and the wall time of fit()."""
    x_train, y_train, _, _ = data
    with nerve.use_backend(backend):
        nerve.utils.set_random_seed(SEED)
        model = make_model(x_train.shape[1])
        label = "C++ backend" if backend == "cpp" else "NumPy reference backend"
        progress = EpochProgress(label)
        start = time.perf_counter()
        history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0,
                            callbacks=[progress])
        return model, history, time.perf_counter() - start


def test_accuracy(model, data):
    _, _, x_test, y_test = data
    outputs = model.predict(x_test, verbose=0)
    predicted = (outputs[:, 0] > 0.5) if outputs.shape[1] == 1 else outputs.argmax(axis=1)
    return float(np.mean(predicted == y_test))


def run_task(title, description, make_model, data, epochs, batch_size):
    print(f"\n{title}\n   {description}, {epochs} epochs, batch {batch_size}")
    print(f"   {len(data[0])} training / {len(data[2])} test samples, {data[0].shape[1]} "
          "standardised features")
    fast, fast_history, fast_time = train(make_model, data, epochs, batch_size, "cpp")
    slow, slow_history, slow_time = train(make_model, data, epochs, batch_size, "numpy")
    print(f"   test accuracy: {test_accuracy(fast, data):.2%} (C++), "
          f"{test_accuracy(slow, data):.2%} (NumPy reference)")
    print(f"   training time: C++ {fast_time:.2f} s, NumPy reference {slow_time:.2f} s, "
          f"speed-up {slow_time / fast_time:.1f}x")
    return title, [("C++ backend", fast_history.history["loss"]),
                   ("NumPy reference", slow_history.history["loss"])]


def train_numpy_convnet(net, x, y, epochs, batch_size):
    """The NumPy loop's losses and seconds; its BLAS gets nerve's thread count (threadpoolctl
    comes with scikit-learn)."""
    from threadpoolctl import threadpool_limits

    one_hot = np.eye(10, dtype=np.float32)[y]
    print("   NumPy im2col loop")
    bar, losses = ProgressBar(epochs, unit="epoch"), []
    with threadpool_limits(nerve.get_num_threads()):
        start = time.perf_counter()
        for epoch in range(epochs):
            losses.append(net.fit_epoch(x, one_hot, batch_size))
            bar.update(epoch + 1, {"loss": losses[-1]})
        seconds = time.perf_counter() - start
    bar.finish({"loss": losses[-1]})
    return losses, seconds


def run_convnet_task(data, epochs, batch_size):
    """The digits as 8x8 images: nerve's convnet against the NumPy loop from the same weights;
    None (after a message) on a nerve without convolution layers."""
    title = "Handwritten digits, a small convnet"
    print(f"\n{title}\n   {CONVNET}, {epochs} epochs, batch {batch_size}")
    if not all(hasattr(nerve.layers, name) for name in ("Conv2D", "MaxPooling2D")):
        print("   skipped: this nerve has no Conv2D / MaxPooling2D layers")
        return None
    x_train, y_train, x_test, y_test = data
    print(f"   {len(x_train)} training / {len(x_test)} test images, 8x8 pixels scaled to "
          "[0, 1], both from the same initial weights")
    net = numpy_convnet()
    model = nerve_convnet([p.copy() for p in net.params])
    nerve.utils.set_random_seed(SEED)
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0,
                        callbacks=[EpochProgress("nerve")])
    nerve_time = time.perf_counter() - start
    numpy_losses, numpy_time = train_numpy_convnet(net, x_train, y_train, epochs, batch_size)
    numpy_accuracy = float(np.mean(net.predict(x_test).argmax(axis=1) == y_test))
    print(f"   test accuracy: {test_accuracy(model, data):.2%} (nerve), {numpy_accuracy:.2%} "
          "(NumPy im2col loop)")
    print(f"   training time: nerve {nerve_time:.2f} s, NumPy im2col loop {numpy_time:.2f} s, "
          f"speed-up {numpy_time / nerve_time:.1f}x")
    return title, [("nerve", history.history["loss"]), ("NumPy im2col loop", numpy_losses)]


def save_plot(curves, directory):
    """A PNG of the loss curves, or None without matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    figure = Figure(figsize=(5 * len(curves), 4), layout="constrained")
    for axes, (title, lines) in zip(figure.subplots(1, len(curves), squeeze=False)[0], curves):
        for (label, losses), style in zip(lines, ("-", "--")):
            axes.plot(np.arange(1, len(losses) + 1), losses, style, label=label)
        axes.set(title=title, xlabel="epoch", ylabel="training loss", yscale="log")
        axes.legend()
    path = os.path.join(directory, PLOT_NAME)
    figure.savefig(path, dpi=100)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m nerve.demo", description=__doc__.split(
        "\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=".", help="directory for the plot (default: .)")
    parser.add_argument("--cancer-epochs", type=int, default=150, metavar="N",
                        help="epochs of the breast-cancer model (default: 150)")
    parser.add_argument("--digits-epochs", type=int, default=30, metavar="N",
                        help="epochs of the digits model (default: 30)")
    parser.add_argument("--convnet-epochs", type=int, default=10, metavar="N",
                        help="epochs of the digits convnet (default: 10)")
    args = parser.parse_args(argv)
    try:
        from sklearn.datasets import load_breast_cancer, load_digits
    except ImportError:
        sys.exit('The demo needs scikit-learn: pip install "nerve[demo]" '
                 "(or pip install scikit-learn matplotlib)")
    if not os.path.isdir(args.out):
        sys.exit(f"--out: {args.out!r} is not a directory")

    info = nerve.build_info()
    print(f"nerve {nerve.__version__}: {info['isa_selected']} kernels, "
          f"{nerve.get_num_threads()} threads")
    digits = load_digits(return_X_y=True)
    curves = [
        run_task("Breast cancer (the DEVELOPERS program)",
                 "Dense(10, relu) -> Dense(1, sigmoid), adam, binary_crossentropy",
                 developers_model, split_and_standardise(*load_breast_cancer(return_X_y=True)),
                 args.cancer_epochs, 10),
        run_task("Handwritten digits, 8x8 pixels",
                 "Dense(64, relu) -> Dense(10, softmax), adam, sparse_categorical_crossentropy",
                 digits_model, split_and_standardise(*digits), args.digits_epochs, 32),
    ]
    images = split(digits[0].reshape(-1, 8, 8, 1) / 16, digits[1])  # pixels are 0-16
    convnet = run_convnet_task(images, args.convnet_epochs, 32)
    curves += [convnet] if convnet else []
    path = save_plot(curves, args.out)
    print(f"\nLoss curves: {path}" if path else "\n(pip install matplotlib to plot the loss)")


if __name__ == "__main__":
    main()
