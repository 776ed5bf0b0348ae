"""evaluate / predict and their *_on_batch forms: the Inference mixin Trainer inherits.

Inference mode throughout: the loops run the model's test and predict plans (nerve.graph.plan)
over the flat buffers (nerve.models.buffers); the backend is read at the start of each call.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Union

from .. import callbacks as callbacks_module
from .. import distributed
from ..backend import get_backend
from . import sources, steps
from .data import Data, Logs, Outputs

from .._typing import ArrayLike
from ..callbacks import Callback


def _verbosity(verbose: Union[str, int]) -> int:
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose: expected 'auto', 0, 1 or 2, received {verbose!r}")
    return verbose


def _progress_bar(verbose):
    """Whether to print progress: when asked, on the one process that prints (rank 0)."""
    return verbose != 0 and distributed.is_root()


class Inference:
    """The inference half of a Model: evaluate, predict, test_on_batch, predict_on_batch.

    Not used on its own: nerve.Model inherits it (through Trainer), and its methods are
    documented there.

    Example:
        >>> from nerve.models.inference import Inference
        >>> [name for name in ("evaluate", "predict") if name in vars(Inference)]
        ['evaluate', 'predict']
    """

    # Trainer's and Compiling's, declared for mypy (the typed methods below call them).
    _require_loss: Callable[[str], None]
    _data: Callable[..., Any]
    _inputs: Callable[..., Any]

    # ---- evaluation and prediction ------------------------------------------------------------
    def evaluate(self, x: Optional[Data] = None, y: Optional[Data] = None,
                 batch_size: Optional[int] = None, verbose: Union[str, int] = "auto",
                 sample_weight: Optional[ArrayLike] = None, steps: Optional[int] = None,
                 callbacks: Optional[Sequence[Callback]] = None,
                 return_dict: bool = False) -> Logs:
        """Compute the loss and the metrics of the model on the data, in inference mode.

        Under nerve.distributed each rank evaluates the data it is passed; with sharded
        data the results are summed over the ranks.

        Args:
            x: The inputs, as fit takes them (arrays, a list / dict of arrays, a generator
                or a PyDataset of (x, y) or (x, y, sample_weight) batches). Default None.
            y: The targets, as fit takes them; None for a generator or PyDataset. Default
                None.
            batch_size: Int >= 1, rows per step, default None (32, or enough for `steps`).
            verbose: "auto" (1), 0, 1 or 2, default "auto".
            sample_weight: Array (samples,) of weights >= 0, default None.
            steps: Int >= 1, the number of batches to evaluate, default None (all).
            callbacks: A list of nerve.callbacks.Callback (on_test_* hooks), default None.
            return_dict: Bool, default False: return a dict of the logs by name.

        Returns:
            The loss (a float) when the model has no metrics and one output, else
            [loss, *output losses, *metrics] in the order of the logs; with return_dict,
            {name: value}.

        Raises:
            ValueError: The model is not compiled or has no loss, an argument is out of
                range, or the data does not fit the model (as in fit).
            TypeError: Data that is not numeric.

        Example:
            >>> import numpy as np, nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
            >>> model.evaluate(np.ones((4, 4)), np.zeros((4, 1)), verbose=0,
            ...                return_dict=True).keys()
            dict_keys(['loss', 'mae'])
        """
        self._require_loss("evaluate")
        verbose = _verbosity(verbose)
        feed = sources.feed(self, x, y, sample_weight, None, batch_size, steps, False, "test")
        callback_list = callbacks_module.CallbackList(
            callbacks, model=self, add_progbar=_progress_bar(verbose), verbose=verbose,
            epochs=1, steps=feed.batches_per_epoch)
        logs = self._test_loop(self._bind_test(feed, get_backend()), callback_list,
                               distributed.data_parallel(self))
        return self._results(logs, return_dict)

    def _bind_test(self, feed, backend):
        self._ensure_packed()
        sums = self._output_sums()
        feed.bind(lambda size, xs, ys, weights, kept: steps.test_step_function(
            self._plan(backend, size, "test"), xs, ys, weights, kept,
            self._loss_weights, sums), sums)
        return feed

    def _test_loop(self, feed, callbacks, parallel=None):
        """The logs of one evaluation over the feed, or None when it has no batches left;
        summed over the ranks of a data-parallel run (parallel) where they hold parts."""
        if not feed.begin():
            return None
        running, penalty = feed.running(self), steps.penalty(self)
        if parallel is not None:
            running = parallel.running(running, training=False)
        on_begin, on_end = callbacks.on_test_batch_begin, callbacks.on_test_batch_end
        callbacks.on_test_begin()
        for index, (step, _, start, size) in enumerate(feed.items()):
            on_begin(index)
            running.add(step(start) + penalty, size)
            on_end(index, running.logs)
        logs = running.final_logs()
        callbacks.on_test_end(logs)
        return logs

    def test_on_batch(self, x: Data, y: Optional[Data] = None,
                      sample_weight: Optional[ArrayLike] = None,
                      return_dict: bool = False) -> Logs:
        """Compute the loss and metrics on one batch, as evaluate() does, without callbacks.

        Args:
            x: The batch's inputs (an array, or a list / dict for several inputs).
            y: The batch's targets, default None.
            sample_weight: Array (samples,) of weights >= 0, default None.
            return_dict: Bool, default False: return a dict of the logs by name.

        Returns:
            The loss, or [loss, *metrics]; with return_dict, {name: value}.

        Raises:
            ValueError: The model is not compiled or has no loss, or the data does not fit.

        Example:
            >>> import numpy as np, nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
            >>> float(model.test_on_batch(np.zeros((2, 4)), np.zeros((2, 1)))[0])
            0.0
        """
        self._require_loss("test_on_batch")
        xs, ys, weights = self._data(x, y, sample_weight)
        feed = sources.ArrayFeed(self, xs, ys, weights, len(xs[0]), None, False, "test", "")
        logs = self._test_loop(self._bind_test(feed, get_backend()),
                               callbacks_module.CallbackList(model=self))
        return self._results(logs, return_dict)

    def _results(self, logs, return_dict):
        if return_dict:
            return logs
        names = ["loss"] + (self._loss_names() if len(self._output_names) > 1 else [])
        values = [logs[name] for name in names + [n for n, _ in self._named_metrics()]]
        return values[0] if len(values) == 1 else values

    def predict(self, x: Data, batch_size: Optional[int] = None,
                verbose: Union[str, int] = "auto", steps: Optional[int] = None,
                callbacks: Optional[Sequence[Callback]] = None) -> Outputs:
        """Compute the model's outputs for x, batch_size rows at a time, in inference mode.

        With verbose=0, no callbacks and at most one batch of arrays it runs as one forward
        pass (the low-latency path of model(x)). A model built without an input shape is
        built from x.

        Args:
            x: The inputs: an array, a list / dict of arrays for several inputs, or a
                generator / PyDataset yielding x, (x,) or (x, y) batches (y is ignored).
            batch_size: Int >= 1, default None (32, or enough rows for `steps` batches).
            verbose: "auto" (1), 0, 1 or 2, default "auto".
            steps: Int >= 1, the number of batches to predict, default None (all).
            callbacks: A list of nerve.callbacks.Callback (on_predict_* hooks), default None.

        Returns:
            An array (samples, ...) in the model's dtype; for a model with several outputs,
            a list or a dict of arrays, as its outputs were given.

        Raises:
            ValueError: x of the wrong shape or with NaN / infinity, a bad argument, or a
                model not built and without layers.
            TypeError: x that is not numeric.

        Example:
            >>> import numpy as np, nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(3)])
            >>> model.predict(np.ones((5, 4)), verbose=0).shape
            (5, 3)
        """
        verbose = _verbosity(verbose)
        if callbacks is None and verbose == 0 and steps is None and not sources.is_stream(x):
            xs = self._inputs(x)
            batch_size = sources.rows_per_batch(batch_size, len(xs[0]), None)
            if len(xs[0]) <= batch_size:  # one batch and nothing to report: model(x)'s path
                return self._forward(xs, "predict")
            feed = sources.ArrayFeed(self, xs, None, None, batch_size, None, False, "predict",
                                     "steps=None")
        else:
            feed = sources.feed(self, x, None, None, None, batch_size, steps, False, "predict")
        callback_list = callbacks_module.CallbackList(
            callbacks, model=self, add_progbar=_progress_bar(verbose), verbose=verbose,
            epochs=1, steps=feed.batches_per_epoch)
        return self._predict_loop(get_backend(), feed, callback_list)

    def _predict_loop(self, backend, feed, callbacks):
        self._ensure_packed()
        feed.bind(lambda size, xs, ys, weights, kept: steps.predict_step_function(
            self._plan(backend, size, "predict"), xs, kept))
        on_begin, on_end = callbacks.on_predict_batch_begin, callbacks.on_predict_batch_end
        callbacks.on_predict_begin()
        for index, (step, _, start, size) in enumerate(feed.items()):
            on_begin(index)
            step(start)
            outs = feed.kept  # a stream's window may have grown for this batch
            on_end(index, {"outputs": [out[start:start + size] for out in outs]
                           if len(outs) > 1 else outs[0][start:start + size]})
        callbacks.on_predict_end()
        return self._structured_outputs(feed.outputs())

    def predict_on_batch(self, x: Data) -> Outputs:
        """Compute the outputs for one batch: predict() without callbacks or progress.

        Args:
            x: The batch's inputs (an array, or a list / dict for several inputs).

        Returns:
            The outputs, as predict returns them.

        Raises:
            ValueError: x of the wrong shape or with NaN / infinity.
            TypeError: x that is not numeric.

        Example:
            >>> import numpy as np, nerve
            >>> model = nerve.Sequential([nerve.Input(shape=(4,)), nerve.layers.Dense(3)])
            >>> model.predict_on_batch(np.ones((2, 4))).dtype
            dtype('float32')
        """
        return self._call_on_arrays(x, False)

    def _call_on_arrays(self, x, training):
        """model(x) on arrays: one forward pass, in training behaviour when asked."""
        return self._forward(self._inputs(x), "forward_train" if training else "predict")

    def _forward(self, xs, mode):
        """The outputs of one forward pass over checked inputs as one batch (no callbacks to
        run, so no feed: the single-sample latency path)."""
        self._ensure_packed()
        outs = self._kept_predictions(len(xs[0]), every=True)
        steps.predict_step_function(self._plan(get_backend(), len(xs[0]), mode), xs, outs)(0)
        return self._structured_outputs(outs)
