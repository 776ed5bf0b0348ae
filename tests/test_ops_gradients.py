"""Gradients of nerve.ops in a compiled training plan: every differentiable op against central
differences (float64, NumPy backend), the C++ backend against the NumPy one (float64 and
float32), non-differentiable ops passing no gradient, and thread-count independence."""
import gc

import numpy as np
import pytest

import nerve
from helpers import central_difference, plan_gradients
from nerve import ops
from nerve.graph.tensor import source_tensor
from nerve.ops.core import OpCall, Primitive


# ---- inputs: each case draws its arrays from one of these domains (away from kinks) --------
def _away(rng, shape):
    """|x| in [0.2, 1], either sign: away from the kinks of abs, relu and friends at 0."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.2, 1.0, size=shape)


DOMAINS = {
    "away": _away,
    "pos": lambda rng, shape: rng.uniform(0.5, 2.0, size=shape),
    "unit": lambda rng, shape: rng.uniform(0.05, 0.95, size=shape),
    "wide": lambda rng, shape: rng.choice([-1.0, 1.0], size=shape) * rng.choice(
        [0.5, 1.5, 2.5, 3.5, 5.0, 7.0], size=shape) + rng.uniform(-0.2, 0.2, size=shape),
    "steps": lambda rng, shape: rng.choice([-1.0, 1.0], size=shape) * rng.choice(
        [0.15, 0.3, 0.7, 0.9], size=shape) + rng.uniform(-0.02, 0.02, size=shape),
}
# Explicit arrays: ties of two (central differences give 1/2 there, as the even split) and
# zeros in a product.
ROW_TIES = [np.array([[0.9, 0.2, 0.9, -0.4], [0.3, 0.8, -0.7, 0.8]])]
COLUMN_TIES = [np.array([[-0.5, 0.2], [-0.5, -0.3], [0.1, -0.3]])]
PAIR_TIES = [np.array([[0.5, -0.2, 0.3], [0.1, 0.4, -0.6]]), np.array([0.5, 0.4, 0.3])]
ZEROS = [np.array([[0.5, 0.0, -0.8], [0.7, 0.9, -0.6], [0.0, 0.3, 0.0]])]

IDX = np.array([2, 0, 2, -1])  # repeated and negative indices
BOOL = np.array([[True, False, True], [False, False, True]])
TARGETS = np.array([[0.2, 0.7, 0.1], [0.0, 0.0, 1.0]])
LABELS = np.array([1, 2])

# (id, fn, shapes, domain or explicit arrays); the arrays are float weights of a traced layer.
CASES = [
    ("add", lambda a, b: ops.add(a, b), [(2, 3), (3,)], "away"),
    ("add-scalar", lambda a, b: a + b, [(), (2, 3)], "away"),
    ("subtract", lambda a, b: ops.subtract(a, b), [(2, 1), (1, 3)], "away"),
    ("multiply", lambda a, b: ops.multiply(a, b), [(3, 1, 2), (4, 2)], "away"),
    ("divide", lambda a, b: ops.divide(a, b), [(2, 3), (2, 1)], "away"),
    ("true_divide", lambda a: ops.true_divide(2.0, a), [(4,)], "away"),
    ("power", lambda a, b: ops.power(a, b), [(2, 3), (3,)], "pos"),
    ("power-int-exponent", lambda a: ops.power(a, 3.0), [(5,)], "away"),
    ("negative", lambda a: ops.negative(a) * a, [(2, 3)], "away"),
    ("square", lambda a: ops.square(a), [(2, 3)], "away"),
    ("sqrt", lambda a: ops.sqrt(a), [(2, 3)], "pos"),
    ("exp", lambda a: ops.exp(a), [(2, 3)], "away"),
    ("expm1", lambda a: ops.expm1(a), [(2, 3)], "away"),
    ("log", lambda a: ops.log(a), [(2, 3)], "pos"),
    ("log1p", lambda a: ops.log1p(a), [(2, 3)], "pos"),
    ("abs", lambda a: ops.abs(a) * a, [(2, 3)], "away"),
    ("absolute", lambda a: ops.absolute(a), [(4,)], "away"),
    ("sin", lambda a: ops.sin(a), [(2, 3)], "away"),
    ("cos", lambda a: ops.cos(a), [(2, 3)], "away"),
    ("reciprocal", lambda a: ops.reciprocal(a), [(2, 3)], "away"),
    ("maximum", lambda a, b: ops.maximum(a, b), [(2, 3), (3,)], "away"),
    ("minimum", lambda a, b: ops.minimum(a, b), [(2, 3), (2, 1)], "away"),
    ("maximum-ties", lambda a, b: ops.maximum(a, b), None, PAIR_TIES),
    ("minimum-ties", lambda a, b: ops.minimum(b, a), None, PAIR_TIES),
    ("clip", lambda a: ops.clip(a * 2.0, -1.0, 1.0), [(3, 4)], "steps"),
    ("clip-array-bounds", lambda a, lo, hi: ops.clip(a * 4.0 - 2.0, lo - 1.0, hi + 0.5),
     [(2, 3), (3,), (2, 1)], "unit"),
    ("relu6", lambda a: ops.relu6(a), [(3, 4)], "wide"),
    ("where", lambda a, b: ops.where(BOOL, a, b), [(2, 3), (3,)], "away"),
    ("where-scalar", lambda a: ops.where(BOOL, a, 0.5) * a, [(2, 3)], "away"),
    ("cast", lambda a: ops.cast(a, "float64") * a, [(2, 3)], "away"),
    # reductions
    ("sum", lambda a: ops.sum(a), [(2, 3, 4)], "away"),
    ("sum-axis", lambda a: ops.sum(a, axis=(0, -1), keepdims=True), [(2, 3, 4)], "away"),
    ("mean", lambda a: ops.mean(a, axis=1), [(2, 3, 4)], "away"),
    ("mean-keepdims", lambda a: ops.mean(a, axis=-1, keepdims=True), [(2, 3)], "away"),
    ("max", lambda a: ops.max(a, axis=-1), [(3, 4)], "away"),
    ("max-all", lambda a: ops.max(a * a), [(2, 3)], "away"),
    ("amax", lambda a: ops.amax(a, axis=0, keepdims=True), [(3, 4)], "away"),
    ("min", lambda a: ops.min(a, axis=(0, 2)), [(2, 3, 2)], "away"),
    ("amin", lambda a: ops.amin(a), [(5,)], "away"),
    ("max-ties", lambda a: ops.max(a, axis=1), None, ROW_TIES),
    ("max-ties-all", lambda a: ops.max(a[:1]), None, ROW_TIES),
    ("min-ties", lambda a: ops.min(a, axis=0, keepdims=True), None, COLUMN_TIES),
    ("prod", lambda a: ops.prod(a, axis=1), [(2, 3)], "away"),
    ("prod-zero", lambda a: ops.prod(a, axis=-1), None, ZEROS),
    ("prod-zero-all", lambda a: ops.prod(a[:2]), None, ZEROS),
    ("prod-keepdims", lambda a: ops.prod(a, axis=(0, 1), keepdims=True), [(2, 2, 2)], "away"),
    ("logsumexp", lambda a: ops.logsumexp(a, axis=-1), [(3, 4)], "away"),
    ("logsumexp-all", lambda a: ops.logsumexp(a * 5.0), [(2, 3)], "away"),
    ("std", lambda a: ops.std(a, axis=0), [(4, 3)], "away"),
    ("var", lambda a: ops.var(a, axis=(0, 1), keepdims=True), [(3, 2, 2)], "away"),
    # products
    ("matmul-2d", lambda a, b: ops.matmul(a, b), [(3, 4), (4, 2)], "away"),
    ("matmul-batched", lambda a, b: ops.matmul(a, b), [(2, 3, 4), (2, 4, 2)], "away"),
    ("matmul-broadcast", lambda a, b: ops.matmul(a, b), [(2, 1, 3, 4), (3, 4, 2)], "away"),
    ("matmul-1d-2d", lambda a, b: ops.matmul(a, b), [(4,), (4, 3)], "away"),
    ("matmul-2d-1d", lambda a, b: ops.matmul(a, b), [(2, 4), (4,)], "away"),
    ("matmul-1d-1d", lambda a, b: a @ b, [(4,), (4,)], "away"),
    ("dot-2d", lambda a, b: ops.dot(a, b), [(2, 3), (3, 2)], "away"),
    ("dot-3d", lambda a, b: ops.dot(a, b), [(2, 2, 3), (2, 3, 2)], "away"),
    ("dot-scalar", lambda a, b: ops.dot(a, b), [(), (3,)], "away"),
    ("einsum-ij,jk", lambda a, b: ops.einsum("ij,jk->ik", a, b), [(2, 3), (3, 2)], "away"),
    ("einsum-bij,bjk", lambda a, b: ops.einsum("bij,bjk->bik", a, b),
     [(2, 2, 3), (2, 3, 2)], "away"),
    ("einsum-ellipsis", lambda a, b: ops.einsum("...ij,...jk->...ik", a, b),
     [(2, 2, 3), (3, 2)], "away"),
    ("einsum-ij->ji", lambda a: ops.einsum("ij->ji", a), [(2, 3)], "away"),
    ("einsum-i,i", lambda a, b: ops.einsum("i,i->", a, b), [(4,), (4,)], "away"),
    ("einsum-ij,j", lambda a, b: ops.einsum("ij,j->i", a, b), [(2, 3), (3,)], "away"),
    ("einsum-broadcast", lambda a, b: ops.einsum("...ij,...jk->...ik", a, b),
     [(2, 2, 3), (1, 3, 2)], "away"),
    ("einsum-size-1", lambda a, b: ops.einsum("ij,ij->ij", a, b), [(1, 3), (2, 3)], "away"),
    ("tensordot-int", lambda a, b: ops.tensordot(a, b, 2), [(2, 3, 2), (3, 2, 2)], "away"),
    ("tensordot-axes", lambda a, b: ops.tensordot(a, b, ([1, 0], [0, 2])),
     [(2, 3, 2), (3, 2, 2)], "away"),
    # shapes
    ("reshape", lambda a: ops.reshape(a, (3, -1)) * ops.reshape(a, (-1,))[:2], [(2, 3)], "away"),
    ("transpose", lambda a: ops.transpose(a, (2, 0, 1)) * 1.0, [(2, 3, 2)], "away"),
    ("transpose-T", lambda a: ops.matmul(a, (a * 1.0).T), [(2, 3)], "away"),
    ("expand_dims", lambda a: ops.expand_dims(a, -1) * a[:, None], [(2, 3)], "away"),
    ("squeeze", lambda a: ops.squeeze(a, 1) * ops.squeeze(a), [(3, 1)], "away"),
    ("concatenate", lambda a, b: ops.concatenate([a, b, a], axis=1), [(2, 1), (2, 3)], "away"),
    ("stack", lambda a, b: ops.stack([a, b], axis=-1), [(2, 3), (2, 3)], "away"),
    ("split", lambda a: ops.split(a, 2, axis=1)[0] * ops.split(a, [1], axis=-1)[1][:, :2],
     [(2, 4)], "away"),
    ("take", lambda a: ops.take(a, IDX, axis=1), [(2, 3)], "away"),
    ("take-flat", lambda a: ops.take(a, np.array([[0, 5], [5, 1]])), [(2, 3)], "away"),
    ("take_along_axis", lambda a: ops.take_along_axis(a, np.array([[0, 0, 2], [1, 2, 1]]),
                                                     axis=-1), [(2, 3)], "away"),
    ("take_along_axis-none", lambda a: ops.take_along_axis(a, np.array([4, 4, 0]), axis=None),
     [(2, 3)], "away"),
    ("getitem-slice", lambda a: a[:, 1:] * a[::-1, :2], [(2, 3)], "away"),
    ("getitem-int", lambda a: a[1] * a[0, -1], [(2, 3)], "away"),
    ("getitem-array", lambda a: ops.getitem(a, [0, 2, 2]), [(3, 2)], "away"),
    ("getitem-mixed", lambda a: a[None, ..., np.array([1, 1, 0])], [(2, 3)], "away"),
    ("broadcast_to", lambda a: ops.broadcast_to(a, (2, 3, 4)), [(3, 1)], "away"),
    # activations
    ("relu", lambda a: ops.relu(a), [(3, 4)], "away"),
    ("sigmoid", lambda a: ops.sigmoid(a * 3.0), [(3, 4)], "away"),
    ("tanh", lambda a: ops.tanh(a), [(3, 4)], "away"),
    ("softmax", lambda a: ops.softmax(a), [(3, 4)], "away"),
    ("softmax-axis0", lambda a: ops.softmax(a, axis=0), [(3, 4)], "away"),
    ("softmax-3d", lambda a: ops.softmax(a, axis=1), [(2, 3, 2)], "away"),
    ("log_softmax", lambda a: ops.log_softmax(a, axis=-1), [(3, 4)], "away"),
    ("gelu", lambda a: ops.gelu(a * 2.0), [(3, 4)], "away"),
    ("gelu-exact", lambda a: ops.gelu(a * 2.0, approximate=False), [(3, 4)], "away"),
    ("silu", lambda a: ops.silu(a * 2.0), [(3, 4)], "away"),
    ("swish", lambda a: ops.swish(a), [(4,)], "away"),
    ("softplus", lambda a: ops.softplus(a * 2.0), [(3, 4)], "away"),
    ("elu", lambda a: ops.elu(a), [(3, 4)], "away"),
    ("elu-alpha", lambda a: ops.elu(a, alpha=0.5), [(3, 4)], "away"),
    ("selu", lambda a: ops.selu(a), [(3, 4)], "away"),
    ("leaky_relu", lambda a: ops.leaky_relu(a), [(3, 4)], "away"),
    ("leaky_relu-slope", lambda a: ops.leaky_relu(a, negative_slope=0.05), [(3, 4)], "away"),
    ("hard_sigmoid", lambda a: ops.hard_sigmoid(a), [(3, 4)], "wide"),
    ("softsign", lambda a: ops.softsign(a), [(3, 4)], "away"),
    ("exponential", lambda a: ops.exponential(a), [(3, 4)], "away"),
    # cross-entropies (the target is a weight too where it is a float)
    ("binary_crossentropy", lambda t, p: ops.binary_crossentropy(t, p), [(2, 3), (2, 3)], "unit"),
    ("binary_crossentropy-logits", lambda t, z: ops.binary_crossentropy(
        t, z * 4.0 - 2.0, from_logits=True), [(2, 3), (2, 3)], "unit"),
    ("categorical_crossentropy", lambda p: ops.categorical_crossentropy(TARGETS, p),
     [(2, 3)], "unit"),
    ("categorical_crossentropy-logits", lambda t, z: ops.categorical_crossentropy(
        t, z, from_logits=True), [(2, 3), (2, 3)], "away"),
    ("categorical_crossentropy-axis0", lambda p: ops.categorical_crossentropy(
        TARGETS.T, p, axis=0), [(3, 2)], "unit"),
    ("sparse_categorical_crossentropy", lambda p: ops.sparse_categorical_crossentropy(
        LABELS, p), [(2, 3)], "unit"),
    ("sparse_categorical_crossentropy-logits", lambda z: ops.sparse_categorical_crossentropy(
        LABELS[:, None], z, from_logits=True), [(2, 3)], "away"),
]
IDS = [case[0] for case in CASES]
assert len(set(IDS)) == len(IDS)


def _arrays(shapes, domain, dtype=np.float64, seed=0):
    if not isinstance(domain, str):
        return [np.array(a, dtype) for a in domain]
    rng = np.random.default_rng(seed)
    return [np.asarray(DOMAINS[domain](rng, s), dtype) for s in shapes]


def _numeric(fn, arrays, i):
    def value(x):
        return plan_gradients(fn, arrays[:i] + [x] + arrays[i + 1:])[0]
    return central_difference(value, arrays[i].copy())


def _eager_value(fn, arrays):
    """s = sum(fn(*arrays) * r) on arrays, with the r plan_gradients draws (seed 0)."""
    result = np.asarray(fn(*arrays))
    r = np.random.default_rng(0).uniform(0.5, 1.5, result.shape).astype(result.dtype)
    return float(np.sum(result * r))


@pytest.mark.parametrize("name, fn, shapes, domain", CASES, ids=IDS)
def test_plan_gradient_matches_central_differences(name, fn, shapes, domain):
    arrays = _arrays(shapes, domain)
    with nerve.use_backend("numpy"):
        value, grads = plan_gradients(fn, arrays)
        np.testing.assert_allclose(value, _eager_value(fn, arrays), rtol=1e-12, atol=1e-12)
        for i, grad in enumerate(grads):
            assert grad.shape == arrays[i].shape and grad.dtype == np.float64
            np.testing.assert_allclose(grad, _numeric(fn, arrays, i), rtol=1e-6, atol=1e-7,
                                       err_msg=f"{name}: argument {i}")


@pytest.mark.parametrize("name, fn, shapes, domain", CASES, ids=IDS)
def test_cpp_backend_gives_the_numpy_backends_gradients(name, fn, shapes, domain):
    arrays = _arrays(shapes, domain)
    with nerve.use_backend("numpy"):
        value, expected = plan_gradients(fn, arrays)
    with nerve.use_backend("cpp"):
        value64, grads64 = plan_gradients(fn, arrays)
        value32, grads32 = plan_gradients(fn, [a.astype(np.float32) for a in arrays])
    np.testing.assert_allclose(value64, value, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(value32, value, rtol=1e-4, atol=1e-5)
    for i, (g64, g32, want) in enumerate(zip(grads64, grads32, expected)):
        np.testing.assert_allclose(g64, want, rtol=1e-9, atol=1e-12, err_msg=f"{name}: {i}")
        assert g32.dtype == np.float32
        scale = max(1.0, float(np.abs(want).max(initial=0.0)))
        np.testing.assert_allclose(g32, want, rtol=1e-4, atol=1e-5 * scale,
                                   err_msg=f"{name}: {i} (float32)")


# ---- casts between floats: the gradient is the cotangent, in the input's dtype --------------
@pytest.mark.parametrize("source, target", [("float64", "float32"), ("float32", "float64")])
@pytest.mark.parametrize("backend", ["numpy", "cpp"])
def test_cast_between_floats_passes_the_gradient(source, target, backend):
    a = _arrays([(2, 3)], "away", np.dtype(source))[0]
    with nerve.use_backend(backend):
        _, (grad,) = plan_gradients(lambda x: ops.cast(x, target), [a])
    r = np.random.default_rng(0).uniform(0.5, 1.5, a.shape).astype(target)
    assert grad.dtype == np.dtype(source)
    np.testing.assert_array_equal(grad, r.astype(source))


# ---- ops that pass no gradient ---------------------------------------------------------------
def _r(shape):
    return np.random.default_rng(0).uniform(0.5, 1.5, shape)


NO_GRADIENT = [  # (id, fn, expected d sum(fn(a) * r) / d a)
    ("stop_gradient", lambda a: a * ops.stop_gradient(a), lambda a: _r(a.shape) * a),
    ("greater-mask", lambda a: ops.cast(ops.greater(a, 0), a.dtype) * a,
     lambda a: _r(a.shape) * (a > 0)),
    ("comparisons", lambda a: a + ops.cast(ops.logical_or(ops.less_equal(a, 0.0), ops.equal(
        a, 1.0)), a.dtype) + ops.cast(ops.logical_and(ops.not_equal(a, 0.0), ops.greater_equal(
            a, 0.5)), a.dtype) + ops.cast(ops.logical_xor(ops.less(a, 0.0), ops.logical_not(
                ops.greater(a, 2.0))), a.dtype), lambda a: _r(a.shape)),
    ("argmax", lambda a: ops.cast(ops.argmax(a, axis=1) + ops.argmin(a, axis=1), a.dtype)
     + ops.sum(a, axis=1), lambda a: np.broadcast_to(_r((2,))[:, None], a.shape)),
    ("cast-int", lambda a: ops.cast(ops.cast(a * 10.0, "int32"), a.dtype) * a,
     lambda a: _r(a.shape) * np.trunc(a * 10)),
    ("one_hot", lambda a: ops.one_hot(ops.argmax(a, axis=1), 3, dtype=a.dtype) * a,
     lambda a: _r(a.shape) * (a == a.max(axis=1, keepdims=True))),
    ("floor", lambda a: ops.floor(a * 3.0) * a, lambda a: _r(a.shape) * np.floor(a * 3)),
    ("ceil", lambda a: ops.ceil(a * 3.0) + a, lambda a: _r(a.shape)),
    ("round", lambda a: ops.round(a * 3.0) + a, lambda a: _r(a.shape)),
    ("sign", lambda a: ops.sign(a) * a, lambda a: _r(a.shape) * np.sign(a)),
    ("bool-reductions", lambda a: a * ops.cast(ops.count_nonzero(ops.greater(a, 0.0)), a.dtype)
     + ops.cast(ops.any(ops.greater(a, 0.0)), a.dtype) + ops.cast(ops.all(ops.greater(
         a, 0.0)), a.dtype), lambda a: _r(a.shape) * np.count_nonzero(a > 0)),
    ("like", lambda a: ops.zeros_like(a) + ops.ones_like(a) * a + ops.full_like(a, 2.0),
     lambda a: _r(a.shape)),
]


@pytest.mark.parametrize("name, fn, expected", NO_GRADIENT, ids=[c[0] for c in NO_GRADIENT])
@pytest.mark.parametrize("backend", ["numpy", "cpp"])
def test_non_differentiable_ops_pass_no_gradient(name, fn, expected, backend):
    a = _arrays([(2, 3)], "away")[0]
    with nerve.use_backend(backend):
        _, (grad,) = plan_gradients(fn, [a])
    np.testing.assert_allclose(grad, expected(a), rtol=1e-12, atol=1e-12)


def test_results_do_not_depend_on_the_thread_count():
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s) * 0.3 for s in [(64, 96), (96, 128), (128, 32), (4, 64, 96)]]

    def fn(a, w1, w2, batch):
        hidden = ops.tanh(ops.matmul(a, w1))
        out = ops.matmul(ops.relu(ops.matmul(hidden, w2) + 0.1), ops.transpose(w2))
        return ops.sum(ops.matmul(batch, w1), axis=0) + ops.sigmoid(out)[:1]

    results = {}
    try:
        for threads in (1, 2):
            nerve.set_num_threads(threads)
            with nerve.use_backend("cpp"):
                for dtype in (np.float32, np.float64):
                    value, grads = plan_gradients(fn, [a.astype(dtype) for a in arrays])
                    results[threads, dtype] = [np.asarray(value)] + grads
    finally:
        nerve._core.reset_num_threads()
    for dtype in (np.float32, np.float64):
        for one, two in zip(results[1, dtype], results[2, dtype]):
            np.testing.assert_array_equal(one, two)


# ---- coverage: every differentiable primitive is exercised by a case ------------------------
def _primitives_of(fn, shapes):
    """Names of the primitives whose nodes tracing fn on symbolic inputs of `shapes` records."""
    outputs = fn(*[source_tensor(s, "float64") for s in shapes])
    names, seen, stack = set(), set(), [outputs]
    while stack:
        tensor = stack.pop()
        node = tensor.node
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node.operation, OpCall):
            names.add(node.operation.primitive.name)
        stack.extend(node.inputs)
    return names


def test_every_differentiable_primitive_has_a_gradient_case():
    covered = set().union(*(_primitives_of(fn, [np.shape(a) for a in _arrays(shapes, domain)])
                            for _, fn, shapes, domain in CASES))
    pieces = ops.split(source_tensor((2,), "float64"), 2)  # split makes a primitive per call
    differentiable = {p.name for p in gc.get_objects()
                      if isinstance(p, Primitive) and p.grad is not None}
    assert "split" in differentiable and len(pieces) == 2 and len(differentiable) > 50
    assert differentiable - covered == set()
