"""Shared helpers of the sparse tests: random matrices of every awkward kind,
results against NumPy under each linker, and ``infer_shape`` checks.

``KINDS`` names the matrices every op is run on: plain random, with empty
rows and columns, with no stored value at all, with unsorted indices, and
with duplicate entries (their values add up, as in scipy).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from op_checks import LINKERS

import symarray as sa
import symarray.tensor as T  # noqa: N812
from symarray.graph.basic import Variable
from symarray.sparse.type import FORMATS, is_sparse_variable

KINDS = ("plain", "empty_rows", "zero_nnz", "unsorted", "duplicates")


def random_sparse(fmt: str, shape: tuple[int, int], kind: str = "plain",
                  dtype: str = "float64", seed: int = 0,
                  density: float = 0.4, low: float = -1.0,
                  high: float = 1.0) -> Any:
    """A ``fmt`` matrix of ``kind`` (see ``KINDS``) with values in
    ``[low, high)``."""
    rng = np.random.default_rng(seed)
    dense = rng.uniform(low, high, shape)
    mask = rng.random(shape) < density
    if kind == "empty_rows":
        mask[::2, :] = False
        mask[:, 1::3] = False
    if kind == "zero_nnz":
        mask[:] = False
    dense = np.where(mask, dense, 0.0).astype(dtype)
    m = FORMATS[fmt](dense)
    if kind in ("unsorted", "duplicates"):
        m = _scramble(m, rng, duplicates=kind == "duplicates", low=low, high=high)
    return m


def _scramble(m: Any, rng: np.random.Generator, duplicates: bool,
              low: float, high: float) -> Any:
    """``m`` with each row's (csr) or column's (csc) entries reversed (not
    sorted when it has two or more) and, with ``duplicates``, each entry
    split in two stored parts."""
    data, indices, indptr = [], [], [0]
    for k in range(len(m.indptr) - 1):
        lo, hi = m.indptr[k], m.indptr[k + 1]
        vals, idx = list(m.data[lo:hi][::-1]), list(m.indices[lo:hi][::-1])
        if duplicates:
            parts = [rng.uniform(low, high) * 0.5 for _ in vals]
            vals = [v - p for v, p in zip(vals, parts, strict=True)] + parts
            idx = idx + idx
        data += vals
        indices += idx
        indptr.append(len(data))
    return type(m)((np.array(data, dtype=m.dtype), np.array(indices, dtype=np.int32),
                    np.array(indptr, dtype=np.int32)), shape=m.shape)


def to_dense(v: Any) -> np.ndarray[Any, Any]:
    return v.toarray() if sp.issparse(v) else np.asarray(v)


def assert_close(got: Any, expected: Any, dtype: str | None = None,
                 sparse: bool | None = None, fmt: str | None = None) -> None:
    """Same values (a sparse result densified), shape and dtype; ``sparse``
    says whether the result must be a scipy matrix (of ``fmt``)."""
    if sparse is not None:
        assert sp.issparse(got) == sparse, f"sparse result: {type(got)}"
    if fmt is not None:
        assert type(got) is FORMATS[fmt], f"{type(got)} is not a {fmt}_matrix"
    g, e = to_dense(got), to_dense(expected)
    if dtype is not None:
        assert g.dtype == np.dtype(dtype), f"dtype {g.dtype} != {dtype}"
    assert g.shape == e.shape, f"shape {g.shape} != {e.shape}"
    tol = 1e-5 if g.dtype in (np.float32, np.complex64) else 1e-10
    np.testing.assert_allclose(g, e.astype(g.dtype), rtol=tol, atol=tol)


def check_op(inputs: Sequence[Variable], output: Variable,
             cases: Sequence[Sequence[Any]], reference: Callable[..., Any],
             linkers: Sequence[str] = LINKERS) -> None:
    """Compile ``output`` under each linker and compare with ``reference``
    (on dense copies of the arguments) for every argument list in ``cases``;
    the result's kind, format and dtype must match the symbolic output."""
    want_sparse = is_sparse_variable(output)
    fmt = output.type.format if want_sparse else None  # type: ignore[attr-defined]
    for linker in linkers:
        fn = sa.function(list(inputs), output, mode=sa.Mode(linker=linker),
                         on_unused_input="ignore")
        for args in cases:
            expected = reference(*[to_dense(a) for a in args])
            got = fn(*args)
            assert_close(got, expected, output.type.dtype,  # type: ignore
                         sparse=want_sparse, fmt=fmt)


def check_infer_shape(inputs: Sequence[Variable], output: Variable,
                      args: Sequence[Any]) -> None:
    """``infer_shape`` of ``output``'s node, evaluated with the real input
    shapes given as fresh int64 scalars, equals the shape ``perform`` gives;
    it is also evaluated with no shapes for sparse inputs (what the shape
    feature passes: the op must compute them itself)."""
    node = output.owner
    assert node is not None
    values = sa.function(list(inputs), node.inputs, on_unused_input="ignore")(*args)
    fresh = [v.type() for v in node.inputs]
    new = node.clone_with_new_inputs(fresh)
    real = sa.function(fresh, new.outputs)(*values)
    expected = [tuple(np.shape(r)) for r in real]
    for given_sparse in (True, False):
        dims = [tuple(T.lscalar(f"s{k}_{d}") for d in range(v.type.ndim))  # type: ignore
                for k, v in enumerate(fresh)]
        shapes: list[Any] = [
            list(d) if (given_sparse or not is_sparse_variable(v)) else None
            for v, d in zip(fresh, dims, strict=True)]
        inferred = node.op.infer_shape(None, new, shapes)
        flat = [T.as_tensor_variable(s) for shp in inferred for s in shp]
        scalars = [s for d in dims for s in d]
        fn = sa.function(fresh + scalars, flat, on_unused_input="ignore")
        lengths = [np.int64(n) for v in values for n in np.shape(v)]
        got = [int(g) for g in fn(*values, *lengths)] if flat else []
        want = [n for shp in expected for n in shp]
        assert got == want, f"{node.op}: infer_shape gave {got}, perform gave {want}"
