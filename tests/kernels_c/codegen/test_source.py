"""Tests of symarray.kernels_c.codegen.source: the C text and what it declines.

The numbers the kernels compute are checked in test_thunk.py; here: exact
literals, the loop dtypes each step computes in (as NumPy picks them),
deterministic text, and the programs without an exact C equivalent.
"""

from __future__ import annotations

import numpy as np
import pytest

from symarray.kernels_c.codegen import source
from symarray.scalar import get_scalar_op
from symarray.scalar.composite import CompositeBuilder
from symarray.tensor.elemwise import Cast


def one_step(name, dtypes, cast=None):
    b = CompositeBuilder(dtypes)
    op = Cast(cast) if cast else get_scalar_op(name)
    return b.build([b.apply(op, b.inputs)])


@pytest.mark.parametrize("value, dtype", [
    (0.1, "float64"), (0.1, "float32"), (-1e-310, "float64"), (3.4e38, "float32"),
    (1 / 3, "float64"), (-0.0, "float64"),
])
def test_float_literals_are_exact(value, dtype):
    text = source.c_literal(value, dtype)
    parsed = float.fromhex(text.rstrip("f"))
    assert np.asarray(parsed, dtype=dtype) == np.asarray(value, dtype=dtype)
    assert np.signbit(parsed) == np.signbit(np.asarray(value, dtype=dtype))
    assert text.endswith("f") == (dtype == "float32")


@pytest.mark.parametrize("value, dtype, expected", [
    (np.nan, "float64", "((double)NAN)"), (-np.inf, "float32", "((float)-INFINITY)"),
    (-(2**63), "int64", "((int64_t)(-9223372036854775807LL - 1))"),
    (2**64 - 1, "uint64", "((uint64_t)18446744073709551615ULL)"),
    (-128, "int8", "((int8_t)-128LL)"), (True, "bool", "1"),
])
def test_special_literals(value, dtype, expected):
    assert source.c_literal(value, dtype) == expected


@pytest.mark.parametrize("name, dtypes, loop", [
    ("lt", ["int8", "uint8"], (("int16", "int16"), "bool")),
    ("add", ["float32", "float64"], (("float64", "float64"), "float64")),
    ("exp", ["float32"], (("float32",), "float32")),
    ("switch", ["bool", "int8", "float32"],
     (("bool", "float32", "float32"), "float32")),
    ("sgn", ["int32"], (("int32",), "int32")),         # a Python function: probed
    ("eq", ["int64", "uint64"], None),                 # NumPy's mixed-sign loop
    ("tri_gamma", ["float32"], None),                  # scipy computes in float64
])
def test_steps_compute_in_the_dtype_numpy_picks(name, dtypes, loop):
    assert source._loop_dtypes(get_scalar_op(name), tuple(dtypes)) == loop


@pytest.mark.parametrize("what, comp, out", [
    ("float to int cast", one_step(None, ["float64"], cast="int32"), "int32"),
    ("complex", one_step("exp", ["complex128"]), "complex128"),
    ("mixed-sign 64-bit compare", one_step("eq", ["int64", "uint64"]), "bool"),
    ("float16", one_step("exp", ["float16"]), "float16"),
])
def test_programs_without_an_exact_c_equivalent_are_declined(what, comp, out):
    with pytest.raises(source.UnsupportedProgramError):
        source.render(comp, out, [False] * comp.nin)
    assert source.explain(comp, out), what


def test_multi_output_composites_store_every_output():
    b = CompositeBuilder(["float64"])
    e = b.apply(get_scalar_op("exp"), b.inputs)
    comp = b.build([e, b.apply(get_scalar_op("sin"), [e]), b.inputs[0]])
    src = source.render(comp, ["float64", "float64", "float64"], [False])
    assert "static inline void sa_elem(double i0, double *r0, double *r1, " \
        "double *r2)" in src.text
    assert "*r2 = i0;" in src.text  # an input as an output
    for k in range(3):
        assert f"double *z{k} = (double *)data[{k + 1}];" in src.text
        assert f"sz{k} == (sa_intp)sizeof(double)" in src.text
    assert source.explain(comp, ["float64"] * 3) is None
    # a declined step declines the whole node
    c = b.build([e, b.apply(Cast("int32"), [e])])
    assert "conversion" in str(source.explain(c, ["float64", "int32"]))


def test_text_is_deterministic_and_specialised():
    comp = one_step("mul", ["float32", "float32"])
    a = source.render(comp, "float32", [False, False])
    assert a == source.render(one_step("mul", ["float32", "float32"]), "float32",
                              [False, False])
    b = source.render(comp, "float32", [False, True])
    assert a.text != b.text and b.scalar_inputs == (False, True)
    assert "x1[i]" in a.text and "x1[i]" not in b.text
    assert a.text.count("#pragma omp simd") == 2
    for name in ("sa_kernel_flat", "sa_kernel_strided", "sa_kernel_abi"):
        assert f"SA_EXPORT int {name}(" in a.text


def test_only_integer_powers_report_a_status():
    assert source.render(one_step("pow", ["int32", "int32"]), "int32",
                         [False, False]).uses_status
    assert not source.render(one_step("pow", ["float64", "float64"]), "float64",
                             [False, False]).uses_status


def test_bool_inputs_are_read_as_bytes_and_converted_by_value():
    src = source.render(one_step("add", ["float64", "bool"]), "float64",
                        [False, False])
    assert "const uint8_t *x1 = (const uint8_t *)data[1];" in src.text
    assert "sa_elem(double i0, bool i1)" in src.text
    assert "((double)((i1) ? 1 : 0))" in src.text  # a select gcc vectorizes
