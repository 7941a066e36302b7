"""Tests of symarray.compile.sharedvalue: shared variables and their values."""

from __future__ import annotations

import numpy as np
import pytest

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)
from symarray.compile.sharedvalue import (
    SharedVariable,
    TensorSharedVariable,
    shared,
    shared_constructor,
)
from symarray.errors import DtypeError, RankError, ShapeMismatchError
from symarray.graph.basic import Type


def test_shared_value_name_and_type():
    w = shared(np.zeros((2, 3)), name="w")
    assert isinstance(w, TensorSharedVariable) and isinstance(w, SharedVariable)
    assert w.name == "w" and str(w) == "w"
    assert w.type.dtype == "float64" and w.type.shape == (None, None)
    assert w.ndim == 2 and w.dtype == "float64"
    np.testing.assert_array_equal(w.get_value(), np.zeros((2, 3)))
    assert theano.shared is shared


@pytest.mark.parametrize("value, dtype", [
    (1.5, "float64"), (3, "int64"), (True, "bool"), (np.float32(2.0), "float32"),
    (np.int8(1), "int8"), (np.arange(3, dtype="uint16"), "uint16"),
])
def test_shared_scalars_and_dtypes(value, dtype):
    s = shared(value)
    assert s.dtype == dtype
    assert isinstance(s.get_value(), np.ndarray)
    np.testing.assert_array_equal(s.get_value(), value)


def test_borrow_on_creation():
    a = np.arange(3.0)
    assert np.shares_memory(shared(a, borrow=True).get_value(borrow=True), a)
    s = shared(a)
    assert not np.shares_memory(s.get_value(borrow=True), a)
    a[0] = 100.0
    assert s.get_value()[0] == 0.0


def test_borrow_on_get_value():
    s = shared(np.arange(3.0))
    inner = s.get_value(borrow=True)
    assert inner is s.get_value(borrow=True)
    copy = s.get_value()
    assert not np.shares_memory(copy, inner)
    copy[0] = 7.0
    assert s.get_value()[0] == 0.0


def test_borrow_on_set_value():
    s = shared(np.zeros(3))
    b = np.ones(3)
    s.set_value(b, borrow=True)
    assert np.shares_memory(s.get_value(borrow=True), b)
    c = np.full(3, 2.0)
    s.set_value(c)
    assert not np.shares_memory(s.get_value(borrow=True), c)
    view = np.arange(6.0)[::2]
    s.set_value(view)
    assert not np.shares_memory(s.get_value(borrow=True), view)


def test_set_value_checks_type_and_may_change_shape():
    s = shared(np.zeros(2, dtype="float32"), name="s")
    s.set_value(np.zeros(5, dtype="float32"))
    assert s.get_value().shape == (5,)
    s.set_value(np.arange(3, dtype="int8"))  # lossless conversion
    assert s.get_value().dtype == np.float32
    with pytest.raises(DtypeError, match="set_value of shared variable s.*float64"):
        s.set_value(np.zeros(2))
    with pytest.raises(RankError, match="set_value of shared variable s"):
        s.set_value(np.zeros((2, 2), dtype="float32"))
    loose = shared(np.zeros(2, dtype="float32"), allow_downcast=True)
    loose.set_value(np.array([1.5, 2.5]))
    assert loose.get_value().dtype == np.float32


def test_strict_shared():
    s = shared(np.zeros(2), strict=True)
    with pytest.raises(DtypeError):
        s.set_value(np.zeros(2, dtype="float32"))
    with pytest.raises(DtypeError):
        shared(np.zeros(2, dtype="float32"), strict=True).set_value([1.0, 2.0])


def test_static_shape_options():
    s = shared(np.zeros((1, 3)), broadcastable=(True, False))
    assert s.broadcastable == (True, False)
    s2 = shared(np.zeros((2, 3)), shape=(2, 3))
    assert s2.type.shape == (2, 3)
    with pytest.raises(ShapeMismatchError):
        s2.set_value(np.zeros((3, 3)))


def test_refused_values():
    with pytest.raises(TypeError, match="not a symbolic variable"):
        shared(T.dvector())
    with pytest.raises(TypeError, match="no shared variable type accepts a list"):
        shared([1.0, 2.0])


def test_clone_shares_the_container():
    s = shared(np.zeros(2), name="s")
    s.default_update = s + 1
    c = s.clone()
    assert c is not s and c.container is s.container and c.name == "s"
    assert c.default_update is s.default_update
    c.set_value(np.ones(2))
    np.testing.assert_array_equal(s.get_value(), [1.0, 1.0])
    f = theano.function([], s + c, no_default_updates=True)
    np.testing.assert_array_equal(f(), [2.0, 2.0])


def test_zero():
    s = shared(np.arange(3.0))
    inner = s.get_value(borrow=True)
    s.zero()
    np.testing.assert_array_equal(s.get_value(), np.zeros(3))
    assert inner[1] == 1.0
    s.set_value(np.arange(3.0))
    inner = s.get_value(borrow=True)
    s.zero(borrow=True)
    assert inner[1] == 0.0


def test_functions_read_the_current_value():
    s = shared(np.float64(1.0), name="s")
    f = theano.function([], s * 2)
    assert float(f()) == 2.0
    s.set_value(5.0)
    assert float(f()) == 10.0


def test_tensor_methods_on_shared_variables():
    s = shared(np.arange(4.0).reshape(2, 2), name="s")
    np.testing.assert_array_equal((s.T + 1).eval(), np.arange(4.0).reshape(2, 2).T + 1)


def test_custom_shared_constructor():
    class Box:
        pass

    class BoxType(Type):
        def filter(self, data, strict=False, allow_downcast=None):
            if not isinstance(data, Box):
                raise TypeError("expected a Box")
            return data

        def __eq__(self, other):
            return type(other) is BoxType

        def __hash__(self):
            return 1

    @shared_constructor
    def box_constructor(value, name=None, strict=False, allow_downcast=None,
                        borrow=False, **kwargs):
        if not isinstance(value, Box):
            return None
        return SharedVariable(BoxType(), value, name, strict, allow_downcast, borrow)

    try:
        b = Box()
        s = shared(b, name="box", borrow=True)
        assert type(s) is SharedVariable and s.get_value(borrow=True) is b
        assert shared(np.zeros(1)).dtype == "float64"  # others still work
    finally:
        from symarray.compile import sharedvalue

        sharedvalue._CONSTRUCTORS.remove(box_constructor)


def test_shared_of_a_scipy_sparse_matrix_loads_the_sparse_package():
    # in a fresh process: symarray.sparse is not imported by `import symarray`
    import subprocess
    import sys

    code = (
        "import sys, scipy.sparse as sp, symarray as th\n"
        "assert 'symarray.sparse' not in sys.modules\n"
        "v = th.shared(sp.eye(3, format='csc'), name='m')\n"
        "print(type(v).__name__, v.type.format, v.get_value().nnz)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["SparseSharedVariable", "csc", "3"]
