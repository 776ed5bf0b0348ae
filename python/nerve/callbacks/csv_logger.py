"""CSVLogger: writes each epoch's logs to a CSV file."""
import csv
import os
from typing import Union

from .. import distributed
from .callback import Callback


class CSVLogger(Callback):
    """Writes one row per epoch to a CSV file: "epoch" (from 0), then the logs' keys, sorted.

    The file is opened when training begins (in a nerve.distributed run, by rank 0 only) and
    closed when it ends; each row is flushed as written.

    Args:
        filename: Str or path-like.
        separator: Str, default ",".
        append: Bool, default False: add to an existing file (without repeating its header).

    Example:
        >>> import os, tempfile, numpy as np, nerve
        >>> model = nerve.Sequential([nerve.Input((2,)), nerve.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> with tempfile.TemporaryDirectory() as directory:
        ...     path = os.path.join(directory, "log.csv")
        ...     _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0,
        ...                   callbacks=[nerve.callbacks.CSVLogger(path)])
        ...     with open(path) as file:
        ...         [line.split(",")[0] for line in file.read().splitlines()]
        ['epoch', '0', '1']
    """

    def __init__(self, filename: Union[str, os.PathLike], separator: str = ",",
                 append: bool = False) -> None:
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        self.on_train_end()
        if not distributed.is_root():  # one file for a nerve.distributed run: rank 0's
            return
        has_header = self.append and os.path.exists(self.filename) \
            and os.path.getsize(self.filename) > 0
        self._file = open(self.filename, "a" if self.append else "w", newline="",
                          encoding="utf-8")
        self._write_header = not has_header

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._file is None:
            return
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch", *sorted(logs)],
                                          delimiter=self.sep, restval="NA",
                                          extrasaction="ignore")
            if self._write_header:
                self._writer.writeheader()
        self._writer.writerow({"epoch": epoch, **logs})
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None
