"""The flat buffers and the plan cache of a model: the Buffers mixin Trainer inherits.

All weights live in one flat parameter buffer (and one flat gradient buffer), so an optimizer
step is one kernel call; plans (nerve.graph.plan) are cached per backend, batch size, mode and
thread.
"""
from __future__ import annotations

import collections
import os
import threading
import weakref
from typing import Any

import numpy as np

from .. import _interrupts
from ..graph.plan import Plan

_CACHED_PLANS = 8  # batch sizes x modes kept; bounded so loops over varying sizes do not grow
# The models whose plan locks a forked child must not inherit held.
_MODELS: "weakref.WeakSet[Any]" = weakref.WeakSet()


def _reset_plan_locks():
    for model in list(_MODELS):
        model._plans_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_plan_locks)


class Buffers:
    """The flat weight buffers and the plan cache of a model (a mixin of Trainer).

    Example:
        >>> from nerve.models.buffers import Buffers
        >>> from nerve.models.trainer import Trainer
        >>> issubclass(Trainer, Buffers)
        True
    """

    # ---- copies (pickle, copy.deepcopy) -------------------------------------------------------
    _REBUILT = frozenset({"_plans", "_plans_lock", "_params", "_grads", "_packed",
                          "_trainable_size", "_variable_grads", "_trainable_id_set"})

    def __getstate__(self):
        """The model without its plans, their lock and its flat buffers: a copy packs its own
        on first use (each Variable carries its values; see Variable.__getstate__)."""
        return {key: value for key, value in self.__dict__.items() if key not in self._REBUILT}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._init_plans()
        self._init_buffers()

    def _init_plans(self):
        """An empty plan cache and its lock (which a forked child gets afresh)."""
        self._plans, self._plans_lock = collections.OrderedDict(), threading.Lock()
        _MODELS.add(self)

    def _init_buffers(self):
        self._params = self._grads = None
        self._packed, self._trainable_size, self._variable_grads = [], 0, []
        self._trainable_id_set = set()

    # ---- the flat buffers ---------------------------------------------------------------------
    def _pack(self):
        """Move every weight into one flat buffer, trainable ones first (the optimizer updates
        that prefix); each Variable keeps its identity and now holds a view of it. Ctrl-C
        cannot leave some variables moved and others not."""
        with _interrupts.deferred():
            self._pack_into_new_buffers()

    def _pack_into_new_buffers(self):
        trainable = {id(w) for w in self.trainable_weights}
        variables = sorted(self.weights, key=lambda v: id(v) not in trainable)
        total = sum(v.size for v in variables)
        params, grads = np.empty(total, self.dtype), np.zeros(total, self.dtype)
        offset, self._trainable_size = 0, 0
        for variable in variables:
            view = params[offset:offset + variable.size].reshape(variable.shape)
            view[...] = variable.value
            variable._value, variable._buffer = view, params
            variable._grad = grads[offset:offset + variable.size].reshape(variable.shape)
            offset += variable.size
            if id(variable) in trainable:
                self._trainable_size = offset
        self._params, self._grads, self._packed = params, grads, variables
        self._trainable_id_set = trainable
        self._variable_grads = [v._grad for v in variables if id(v) in trainable]
        with self._plans_lock:
            self._plans.clear()
        self._build_optimizer()

    def _ensure_packed(self):
        """Pack again when the model's weights changed since the last pack, or one of them
        moved to another model's buffer (a layer shared by two models)."""
        weights, params = self.weights, self._params
        if (params is None or len(weights) != len(self._packed)
                or any(v._buffer is not params for v in weights)):
            self._pack()

    def _trainable_ids(self):
        return self._trainable_id_set

    def _build_optimizer(self):
        if self.optimizer is None or self._params is None:
            return
        slots = self.optimizer._slots
        if slots is None or any(s.size != self._trainable_size or s.dtype != self.dtype
                                for s in slots):
            self.optimizer.build(self._trainable_size, self.dtype)

    def _plan(self, backend, batch, mode):
        """Preallocated buffers for one (backend, batch size, mode), per thread: concurrent
        predict calls on one model must not write into each other's buffers."""
        key = (backend.__name__, batch, mode, threading.get_ident())
        with self._plans_lock:
            plan = self._plans.get(key)
            if plan is None:
                plan = self._plans[key] = Plan(self, backend, batch, mode)
                if len(self._plans) > _CACHED_PLANS:
                    self._plans.popitem(last=False)
            else:
                self._plans.move_to_end(key)
        return plan

    def _optimizer_step(self, backend):
        if self._trainable_size == 0:
            return lambda: None
        size = self._trainable_size
        step = self.optimizer.bind(backend, self._params[:size], self._grads[:size],
                                   self._variable_grads)
        constrained = [(v.value, v.constraint) for v in self.trainable_weights
                       if v.constraint is not None]
        if not constrained:
            return step

        def constrained_step():  # Keras projects the weights after each update
            step()
            for value, constraint in constrained:
                value[...] = constraint(value)
        return constrained_step
