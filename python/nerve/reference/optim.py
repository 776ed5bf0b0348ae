"""Optimizer updates and gradient clipping (NumPy twin of cpp/optim.h and its binding).

Every list argument is a list or tuple of ndarrays, one per parameter tensor; element i of
each list has the shape of params[i], and all arrays share one float dtype. Updates happen in
place, with Keras 3's conventions: weight decay is decoupled (p -= lr * weight_decay * p, before
the update). Everything is validated before any array is touched.
"""
import math
import numbers

import numpy as np

from ._checks import (as_array, float_dtype, raise_overlap, raise_type, raise_value,
                      require_c_contiguous, require_dtype, require_number, require_shape,
                      require_writable)

__all__ = ["sgd_update", "adam_update", "rmsprop_update", "adagrad_update", "global_norm",
           "clip_by_global_norm", "clip_by_value"]

# ---- checks (the C++ binding runs the same ones in the same order) ---------------------------


def _finite(value, name):
    return require_number(value, name, lambda x: True, "a finite number")


def _non_negative(value, name):
    return require_number(value, name, lambda x: x >= 0, "a finite number >= 0")


def _positive(value, name):
    return require_number(value, name, lambda x: x > 0, "a finite number > 0")


def _unit_interval(value, name, include_one=True):
    if include_one:
        return require_number(value, name, lambda x: 0 <= x <= 1, "a number in [0, 1]")
    return require_number(value, name, lambda x: 0 <= x < 1, "a number in [0, 1)")


def _require_state(state, name, needed_when):
    if state is None:
        raise_value(name, f"a list of arrays when {needed_when}", "None")


def _check_lists(*lists):
    """lists: (name, object, writable) triples, the lead list first: its length and element
    shapes set everyone's, its first element the dtype. Returns [(name, array)], element-major."""
    lead_name, lead, _ = lists[0]
    for name, seq, _ in lists:
        if not isinstance(seq, (list, tuple)):
            raise_type(name, "a list or tuple of arrays", type(seq).__name__)
        if len(seq) != len(lead):
            raise_value(name, f"{len(lead)} arrays (like {lead_name})", len(seq))
    dtype = None
    named = []
    for i in range(len(lead)):
        for name, seq, writable in lists:
            element = f"{name}[{i}]"
            a = as_array(seq[i], element)
            if dtype is None:
                dtype = float_dtype(a, element)
            else:
                require_dtype(a, element, dtype)
            if seq is not lead:
                require_shape(a, element, lead[i].shape)
            require_c_contiguous(a, element)
            if writable:
                require_writable(a, element)
            named.append((element, a))
    _require_all_disjoint(named, len(lists))
    return [[a for _, a in named[k::len(lists)]] for k in range(len(lists))]


def _require_all_disjoint(named, list_count):
    """No two arrays share a byte. Sorting by start address finds an overlap, if any, between
    an interval and the widest-reaching one before it; the later argument (params before
    grads before state, element by element) is reported."""
    def argument_order(k):  # named is element-major; arguments are list-major
        return (k % list_count, k // list_count)

    spans = sorted((a.__array_interface__["data"][0], argument_order(k), k)
                   for k, (_, a) in enumerate(named) if a.nbytes)
    widest = None
    for start, order, k in spans:
        if widest is not None and start < widest[0]:
            first, second = sorted([(widest[1], widest[2]), (order, k)])
            raise_overlap(named[second[1]][0], named[first[1]][0])
        end = start + named[k][1].nbytes
        if widest is None or end > widest[0]:
            widest = (end, order, k)


# ---- updates ---------------------------------------------------------------------------------


def _decay(p, lr, weight_decay):
    """Keras' p -= lr * weight_decay * p, as one product (exact when weight_decay is 0)."""
    if weight_decay:
        p *= 1 - lr * weight_decay


def sgd_update(params, grads, velocities, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    """v = momentum*v - lr*g; p += v (nesterov: p += momentum*v - lr*g); momentum 0: p -= lr*g
    (velocities may then be None)."""
    lr = _finite(lr, "lr")
    momentum = _unit_interval(momentum, "momentum")
    nesterov = bool(nesterov)
    weight_decay = _non_negative(weight_decay, "weight_decay")
    if momentum > 0:
        _require_state(velocities, "velocities", "momentum > 0")
    lists = [("params", params, True), ("grads", grads, False)]
    if velocities is not None:
        lists.append(("velocities", velocities, True))
    ps, gs, *vs = _check_lists(*lists)
    for i, (p, g) in enumerate(zip(ps, gs)):
        _decay(p, lr, weight_decay)
        if momentum == 0:
            p -= lr * g
            continue
        v = vs[0][i]
        v *= momentum
        v -= lr * g
        p += (momentum * v - lr * g) if nesterov else v


def adam_update(params, grads, ms, vs, lr, beta1, beta2, epsilon, step, weight_decay=0.0,
                v_hats=None):
    """m += (1-b1)(g-m); v += (1-b2)(g^2-v); p -= lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps).
    AMSGrad when v_hats is given: v_hat = max(v_hat, v), used in place of v."""
    lr = _finite(lr, "lr")
    beta1 = _unit_interval(beta1, "beta1", include_one=False)
    beta2 = _unit_interval(beta2, "beta2", include_one=False)
    epsilon = _non_negative(epsilon, "epsilon")
    if not isinstance(step, numbers.Integral):
        raise_type("step", "an integer", type(step).__name__)
    step = int(step)
    if step < 1:
        raise_value("step", "an integer >= 1", step)
    weight_decay = _non_negative(weight_decay, "weight_decay")
    lists = [("params", params, True), ("grads", grads, False), ("ms", ms, True),
             ("vs", vs, True)]
    if v_hats is not None:
        lists.append(("v_hats", v_hats, True))
    ps, gs, mls, vls, *hats = _check_lists(*lists)
    alpha = lr * math.sqrt(1 - beta2**step) / (1 - beta1**step)
    for i, (p, g, m, v) in enumerate(zip(ps, gs, mls, vls)):
        _decay(p, lr, weight_decay)
        m += (1 - beta1) * (g - m)
        v += (1 - beta2) * (g * g - v)
        if hats:
            np.maximum(hats[0][i], v, out=hats[0][i])
            v = hats[0][i]
        p -= alpha * m / (np.sqrt(v) + epsilon)


def rmsprop_update(params, grads, velocities, momenta, avg_grads, lr, rho, momentum, epsilon,
                   weight_decay=0.0):
    """v = rho*v + (1-rho)g^2; centered (avg_grads given): a = rho*a + (1-rho)g,
    d = max(v - a^2, 0) + eps,
    else d = v + eps; inc = lr*g/sqrt(d); momentum > 0: m = momentum*m + inc, p -= m; else
    p -= inc (momenta may then be None)."""
    lr = _finite(lr, "lr")
    rho = _unit_interval(rho, "rho")
    momentum = _unit_interval(momentum, "momentum")
    epsilon = _non_negative(epsilon, "epsilon")
    weight_decay = _non_negative(weight_decay, "weight_decay")
    if momentum > 0:
        _require_state(momenta, "momenta", "momentum > 0")
    lists = [("params", params, True), ("grads", grads, False), ("velocities", velocities, True)]
    if momenta is not None:
        lists.append(("momenta", momenta, True))
    if avg_grads is not None:
        lists.append(("avg_grads", avg_grads, True))
    ps, gs, vls, *rest = _check_lists(*lists)
    mls = rest.pop(0) if momenta is not None else None
    als = rest.pop(0) if avg_grads is not None else None
    for i, (p, g, v) in enumerate(zip(ps, gs, vls)):
        _decay(p, lr, weight_decay)
        v[...] = rho * v + (1 - rho) * (g * g)
        if als is not None:
            a = als[i]
            a[...] = rho * a + (1 - rho) * g
            denominator = np.maximum(v - a * a, 0) + epsilon  # rounding can go below 0
        else:
            denominator = v + epsilon
        increment = lr * g / np.sqrt(denominator)
        if momentum > 0:
            m = mls[i]
            m[...] = momentum * m + increment
            p -= m
        else:
            p -= increment


def adagrad_update(params, grads, accumulators, lr, epsilon, weight_decay=0.0):
    """acc += g^2; p -= lr*g/sqrt(acc + eps)."""
    lr = _finite(lr, "lr")
    epsilon = _non_negative(epsilon, "epsilon")
    weight_decay = _non_negative(weight_decay, "weight_decay")
    ps, gs, accs = _check_lists(("params", params, True), ("grads", grads, False),
                                ("accumulators", accumulators, True))
    for p, g, acc in zip(ps, gs, accs):
        _decay(p, lr, weight_decay)
        acc += g * g
        p -= lr * g / np.sqrt(acc + epsilon)


# ---- clipping --------------------------------------------------------------------------------


def _norm(gs):
    return math.sqrt(sum(float(np.dot(g.ravel(), g.ravel()))
                         for g in (g.astype(np.float64) for g in gs)))


def global_norm(grads):
    """sqrt(sum of g^2 over every array), accumulated in float64."""
    (gs,) = _check_lists(("grads", grads, False))
    return _norm(gs)


def clip_by_global_norm(grads, max_norm):
    """Scales every array by max_norm / global_norm when that is < 1; returns the norm before."""
    max_norm = _positive(max_norm, "max_norm")
    (gs,) = _check_lists(("grads", grads, True))
    norm = _norm(gs)
    if norm > max_norm:
        for g in gs:
            g *= max_norm / norm
    return norm


def clip_by_value(grads, clip):
    """Clamps every element to [-clip, clip] (NaN stays NaN)."""
    clip = _positive(clip, "clip")
    (gs,) = _check_lists(("grads", grads, True))
    for g in gs:
        np.clip(g, -clip, clip, out=g)
