"""A one-minute tour: `pip install ".[demo]" && python -m nerve.demo`

Trains three small networks on data that ships with scikit-learn (nothing is downloaded): a
breast-cancer diagnosis from the Wisconsin breast cancer measurements, and a digit recogniser
on the 8x8 digit images as an MLP and as a small convnet. Each network trains in nerve, as
the same network written as a plain NumPy training loop (forward, backward and Adam by hand:
nerve.numpy_convnet) and in PyTorch when it is installed, all from the same initial weights
with the same epochs, batches and threads. It prints each one's test accuracy and time per
epoch, and saves a PNG of the speeds, accuracies and loss curves when matplotlib is installed.
"""
import argparse
import os
import sys

import numpy as np

import nerve
from nerve import demo_frameworks as frameworks
from nerve import numpy_convnet as nc

SEED = 42
PLOT_NAME = "nerve-demo.png"
# colour and line style per framework (the loss curves overlap: styles keep each visible)
STYLES = {"nerve": ("tab:blue", "-"), frameworks.NUMPY_LOOP: ("tab:orange", "--")}
PYTORCH_STYLE = ("tab:green", ":")


def diagnosis_net():
    """Dense(10, relu) -> Dense(1, sigmoid) on the 30 measurements of a breast mass."""
    return nc.ConvNet([nc.Dense(10, activation="relu"), nc.Dense(1)], input_shape=(30,),
                      seed=SEED, loss="binary_crossentropy")


def digits_mlp():
    return nc.ConvNet([nc.Dense(64, activation="relu"), nc.Dense(10)], input_shape=(64,),
                      seed=SEED)


def digits_convnet():
    return nc.ConvNet([nc.Conv2D(16, 3, padding="same"), nc.MaxPooling2D(2), nc.Conv2D(32, 3),
                       nc.Flatten(), nc.Dense(10)], input_shape=(8, 8, 1), seed=SEED)


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


def tasks(args):
    """(title, network, data description, make_net, data, epochs, batch size) per task."""
    from sklearn.datasets import load_breast_cancer, load_digits

    digits_x, digits_y = load_digits(return_X_y=True)
    return [
        ("Breast-cancer diagnosis (Wisconsin breast cancer data)",
         "Dense(10, relu) -> Dense(1, sigmoid), adam, binary_crossentropy",
         "30 standardised measurements per breast mass, benign or malignant", diagnosis_net,
         split_and_standardise(*load_breast_cancer(return_X_y=True)), args.cancer_epochs, 10),
        ("Handwritten digits, an MLP",
         "Dense(64, relu) -> Dense(10, softmax), adam, sparse_categorical_crossentropy",
         "64 standardised pixels per 8x8 image", digits_mlp,
         split_and_standardise(digits_x, digits_y), args.digits_epochs, 32),
        ("Handwritten digits, a small convnet",
         "Conv2D(16, 3x3, relu, same) -> MaxPooling2D(2) -> Conv2D(32, 3x3, relu) -> "
         "Flatten -> Dense(10, softmax), adam",
         "8x8x1 images, pixels scaled to [0, 1]", digits_convnet,
         split(digits_x.reshape(-1, 8, 8, 1) / 16, digits_y),  # pixels are 0-16
         args.convnet_epochs, 32),
    ]


def relative_speed(nerve_result, other):
    ratio = other.seconds / nerve_result.seconds
    return f"nerve {ratio:.1f}x faster" if ratio >= 1 else f"nerve {1 / ratio:.1f}x slower"


def report(results):
    """The table under a task: accuracy, time per epoch, and nerve's speed against each."""
    width = max(len(r.framework) for r in results) + 2
    print(f"   {'':{width}}test accuracy   time per epoch")
    for result in results:
        speed = "" if result is results[0] else "   " + relative_speed(results[0], result)
        print(f"   {result.framework:{width}}{result.accuracy:12.2%}   "
              f"{result.seconds_per_epoch * 1e3:11.2f} ms{speed}")
    if len(results) == 2:
        print("   PyTorch: not installed (pip install torch adds it to the comparison)")


def run_task(title, network, description, make_net, data, epochs, batch_size):
    print(f"\n{title}\n   {network}, {epochs} epochs, batch {batch_size}")
    print(f"   {len(data[0])} training / {len(data[2])} test samples: {description}; "
          "every framework starts from the same initial weights")
    results = frameworks.compare(make_net, data, epochs, batch_size, SEED)
    report(results)
    return title, results


def style(framework):
    return STYLES.get(framework, PYTORCH_STYLE)


def save_plot(outcomes, directory):
    """A PNG with a column per task: time per epoch, test accuracy, loss curves; None without
    matplotlib."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    figure = Figure(figsize=(5 * len(outcomes), 10), layout="constrained")
    figure.suptitle(f"nerve against the same networks in plain NumPy and PyTorch: same initial "
                    f"weights, epochs, batches, {nerve.get_num_threads()} threads")
    grid = figure.subplots(3, len(outcomes), squeeze=False)
    for (speed, accuracy, loss), (title, results) in zip(grid.T, outcomes):
        names = [r.framework.replace(" loop", "\nloop") for r in results]
        colours = [style(r.framework)[0] for r in results]
        milliseconds = [r.seconds_per_epoch * 1e3 for r in results]
        speed.bar_label(speed.bar(names, milliseconds, color=colours), fmt="%.1f ms")
        speed.set(title=title, ylabel="time per epoch (ms), lower is faster",
                  ylim=(0, 1.15 * max(milliseconds)))
        bars = accuracy.bar(names, [100 * r.accuracy for r in results], color=colours)
        accuracy.bar_label(bars, fmt="%.1f%%")
        accuracy.set(ylabel="test accuracy (%)", ylim=(0, 110))
        for result in results:
            colour, line = style(result.framework)
            loss.plot(np.arange(1, len(result.losses) + 1), result.losses, line, color=colour,
                      marker="o" if len(result.losses) < 10 else None, label=result.framework)
        loss.set(xlabel="epoch", ylabel="training loss", yscale="log")
        loss.legend()
    path = os.path.join(directory, PLOT_NAME)
    figure.savefig(path, dpi=90)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m nerve.demo", description=__doc__.split(
        "\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=".", help="directory for the plot (default: .)")
    parser.add_argument("--cancer-epochs", type=int, default=150, metavar="N",
                        help="epochs of the breast-cancer diagnosis (default: 150)")
    parser.add_argument("--digits-epochs", type=int, default=30, metavar="N",
                        help="epochs of the digits MLP (default: 30)")
    parser.add_argument("--convnet-epochs", type=int, default=10, metavar="N",
                        help="epochs of the digits convnet (default: 10)")
    args = parser.parse_args(argv)
    for name in ("cancer_epochs", "digits_epochs", "convnet_epochs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')}: expected at least 1, received "
                         f"{getattr(args, name)}")
    try:
        import sklearn  # noqa: F401
    except ImportError:
        sys.exit('The demo needs scikit-learn: pip install "nerve[demo]" '
                 "(or pip install scikit-learn matplotlib)")
    if not os.path.isdir(args.out):
        sys.exit(f"--out: {args.out!r} is not a directory")

    info = nerve.build_info()
    torch_version = frameworks.torch_version()
    print(f"nerve {nerve.__version__}: {info['isa_selected']} kernels, "
          f"{nerve.get_num_threads()} threads; PyTorch "
          f"{torch_version or 'not installed'}")
    outcomes = [run_task(*task) for task in tasks(args)]
    path = save_plot(outcomes, args.out)
    print(f"\nSpeed, accuracy and loss curves: {path}" if path
          else "\n(pip install matplotlib to plot speed, accuracy and loss)")


if __name__ == "__main__":
    main()
