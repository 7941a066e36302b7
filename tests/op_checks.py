"""Shared checks for op tests: results against NumPy, infer_shape, linkers.

Every op test uses these, so all ops are held to the same standard:

* :func:`check_against_numpy` compiles the symbolic expression under each
  linker in ``LINKERS`` and compares with the NumPy reference, dtype included.
* :func:`check_infer_shape` evaluates an op's ``infer_shape`` on the real
  input shapes (without running the op) and compares it with the shape
  ``perform`` produces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import symarray as sa
import symarray.tensor as T
from symarray.graph.basic import Variable

#: linkers every op test runs under (grows as the VM issue lands)
LINKERS = ("py", "vm", "cvm", "cvm_nogc")


def _tol(dtype: Any) -> tuple[float, float]:
    dt = np.dtype(dtype)
    if dt in (np.float16,):
        return 1e-2, 1e-2
    if dt in (np.float32, np.complex64):
        return 1e-4, 1e-5
    return 1e-7, 1e-10


def assert_allclose_typed(got: Any, expected: Any, dtype: Any = None) -> None:
    """Values close (per-dtype tolerance), same shape, same dtype."""
    got = np.asarray(got)
    expected = np.asarray(expected)
    if dtype is not None:
        assert got.dtype == np.dtype(dtype), f"dtype {got.dtype} != {dtype}"
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
    if got.dtype.kind in "fc":
        rtol, atol = _tol(got.dtype)
        np.testing.assert_allclose(got, expected.astype(got.dtype), rtol=rtol,
                                   atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, expected)


def check_against_numpy(
    inputs: Sequence[Variable],
    outputs: Variable | Sequence[Variable],
    values: Sequence[Any],
    reference: Callable[..., Any],
    dtype: Any = None,
    linkers: Sequence[str] = LINKERS,
) -> None:
    """Compile ``outputs`` under each linker and compare with ``reference``.

    ``dtype`` (optional) is the expected output dtype; otherwise the symbolic
    output's dtype must match the computed one.
    """
    single = isinstance(outputs, Variable)
    outs = [outputs] if single else list(outputs)
    expected = reference(*values)
    expected_list = [expected] if single else list(expected)
    for linker in linkers:
        fn = sa.function(list(inputs), outs, mode=sa.Mode(linker=linker),
                         on_unused_input="ignore")
        got = fn(*values)
        for var, g, e in zip(outs, got, expected_list, strict=True):
            assert_allclose_typed(g, e, dtype if dtype is not None else var.dtype)


def check_infer_shape(
    inputs: Sequence[Variable],
    outputs: Variable | Sequence[Variable],
    values: Sequence[Any],
) -> None:
    """``infer_shape`` of each output's node equals the shape perform gives.

    The node is re-applied to fresh inputs, its ``infer_shape`` is given
    fresh int64 scalars as the input shapes, and the result is evaluated with
    the real shapes: the op's own computation is never run to get shapes.
    """
    outs = [outputs] if isinstance(outputs, Variable) else list(outputs)
    for out in outs:
        node = out.owner
        assert node is not None, f"{out} has no owner to infer the shape of"
        node_in_values = sa.function(list(inputs), node.inputs,
                                     on_unused_input="ignore")(*values)
        fresh = [inp.type() for inp in node.inputs]
        new_node = node.clone_with_new_inputs(fresh)
        shape_vars = [tuple(T.lscalar(f"s{k}_{d}") for d in range(inp.ndim))
                      for k, inp in enumerate(node.inputs)]
        inferred = node.op.infer_shape(None, new_node, [list(s) for s in shape_vars])
        flat = [T.as_tensor_variable(s) for shp in inferred for s in shp]
        scalars = [s for shp in shape_vars for s in shp]
        fn = sa.function(fresh + scalars, flat, on_unused_input="ignore")
        shape_values = [np.int64(d) for v in node_in_values for d in np.shape(v)]
        got = [int(v) for v in fn(*node_in_values, *shape_values)]
        real = sa.function(fresh, new_node.outputs)(*node_in_values)
        expected = [d for r in real for d in np.shape(r)]
        assert got == expected, (
            f"{node.op}: infer_shape gave {got}, perform gave {expected}"
        )
        for o, r in zip(new_node.outputs, real, strict=True):
            assert np.ndim(r) == o.ndim, f"{node.op}: rank {np.ndim(r)} != {o.ndim}"
            for s, n in zip(o.type.shape, np.shape(r), strict=True):
                assert s is None or s == n, (
                    f"{node.op}: static shape {o.type.shape} but perform gave "
                    f"{np.shape(r)}"
                )
