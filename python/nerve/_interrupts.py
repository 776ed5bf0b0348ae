"""Sections that Ctrl-C cannot cut in half: a training step, compile's packing of the weights,
set_weights. A SIGINT arriving inside one takes effect (as a KeyboardInterrupt, or whatever
the program's own SIGINT handler does) when the section ends, so the model is left wholly
before or wholly after it.

Python runs signal handlers on the main thread, between bytecodes. While a Deferral is
installed there, its handler replaces the program's: inside a held section it records the
signal, and the section's end calls the replaced handler with it; outside one it calls that
handler at once. Off the main thread no handler runs at all, and a SIGINT with no Python
handler (SIG_IGN, SIG_DFL) cannot interrupt in the middle of Python code: a Deferral does
nothing there.
"""
import threading

# signal.signal and signal.getsignal convert a Python handler to an enum through a failed
# lookup: ~15 us a call pair against ~1 us here, and train_on_batch installs one per call.
import _signal

__all__ = ["Deferral", "deferred"]


class Deferral:
    """`with Deferral() as deferral:` installs the deferring handler for the block;
    `deferral.call(f, *args)` holds SIGINT while f runs. `hold=True` holds it for the whole
    block (see deferred())."""

    def __init__(self, hold=False):
        self._hold, self._holding, self._pending, self._replaced = hold, False, None, None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            current = _signal.getsignal(_signal.SIGINT)
            if callable(current):
                self._replaced = current
                self._holding = self._hold
                _signal.signal(_signal.SIGINT, self._receive)
        return self

    def __exit__(self, *exc_info):
        if self._replaced is not None:
            _signal.signal(_signal.SIGINT, self._replaced)
            self._holding = False
            self._deliver()

    def call(self, function, *args):
        """function(*args), with a SIGINT that arrives meanwhile taking effect after it."""
        if self._replaced is None:
            return function(*args)
        self._holding = True
        try:
            return function(*args)
        finally:
            self._holding = False
            if self._pending is not None:
                self._deliver()

    def _receive(self, signum, frame):
        if self._holding:
            self._pending = (signum, frame)
        else:
            self._replaced(signum, frame)

    def _deliver(self):
        pending, self._pending = self._pending, None
        if pending is not None:
            self._replaced(*pending)


def deferred():
    """A with-block that SIGINT cannot cut in half: one arriving inside takes effect at its
    end."""
    return Deferral(hold=True)
