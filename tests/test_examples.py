"""Theano-style programs run unchanged on symarray.

Each test is written the way Theano users write code (``import symarray as
theano; import symarray.tensor as T``) and checked against the same
computation in NumPy.
"""

from __future__ import annotations

import numpy as np

import symarray as theano
import symarray.tensor as T  # noqa: N812 (Theano's convention)


def _numpy_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def test_logistic_regression_with_minibatches():
    rng = np.random.default_rng(1234)
    n_samples, n_features, batch_size, learning_rate = 200, 6, 20, 0.5
    true_w = rng.normal(size=n_features)
    data = rng.normal(size=(n_samples, n_features))
    labels = (data @ true_w + 0.1 * rng.normal(size=n_samples) > 0).astype("float64")

    # the dataset lives in shared variables; minibatches are slices of it
    train_x = theano.shared(data, name="train_x")
    train_y = theano.shared(labels, name="train_y")
    w = theano.shared(np.zeros(n_features), name="w")
    b = theano.shared(0.0, name="b")

    x = T.dmatrix("x")
    y = T.dvector("y")
    index = T.lscalar("index")

    p_1 = T.nnet.sigmoid(T.dot(x, w) + b)  # probability that the label is 1
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = T.mean(xent) + 0.01 * T.sum(w ** 2)
    # the gradient of the cost, by hand (T.grad is not used here)
    error = p_1 - y
    g_w = T.dot(x.T, error) / batch_size + 0.02 * w
    g_b = T.mean(error)

    batch = slice(index * batch_size, (index + 1) * batch_size)
    train = theano.function(
        inputs=[index],
        outputs=cost,
        updates=[(w, w - learning_rate * g_w), (b, b - learning_rate * g_b)],
        givens={x: train_x[batch], y: train_y[batch]},
    )
    predict = theano.function(inputs=[x], outputs=prediction)
    probability = theano.function([x], p_1)

    # the same training in NumPy
    ref_w, ref_b = np.zeros(n_features), 0.0
    n_batches = n_samples // batch_size
    costs = []
    for _epoch in range(5):
        for i in range(n_batches):
            costs.append(float(train(i)))
            xb = data[i * batch_size:(i + 1) * batch_size]
            yb = labels[i * batch_size:(i + 1) * batch_size]
            p = _numpy_sigmoid(xb @ ref_w + ref_b)
            ref_cost = np.mean(-yb * np.log(p) - (1 - yb) * np.log(1 - p))
            ref_cost += 0.01 * np.sum(ref_w ** 2)
            np.testing.assert_allclose(costs[-1], ref_cost, rtol=1e-10)
            ref_w, ref_b = (ref_w - learning_rate * ((xb.T @ (p - yb)) / batch_size
                                                     + 0.02 * ref_w),
                            ref_b - learning_rate * np.mean(p - yb))
    np.testing.assert_allclose(w.get_value(), ref_w, rtol=1e-10)
    np.testing.assert_allclose(b.get_value(), ref_b, rtol=1e-10)
    assert costs[-1] < costs[0]

    predicted = predict(data)
    assert predicted.dtype == bool and predicted.shape == (n_samples,)
    np.testing.assert_array_equal(predicted, _numpy_sigmoid(data @ ref_w + ref_b) > 0.5)
    assert np.mean(predicted == labels) > 0.9
    np.testing.assert_allclose(probability(data[:3]),
                               _numpy_sigmoid(data[:3] @ ref_w + ref_b), rtol=1e-10)


def test_logistic_regression_full_batch_float32():
    # the same model with float32 data, as GPU users of Theano wrote it
    rng = np.random.default_rng(7)
    data = rng.normal(size=(50, 3)).astype("float32")
    labels = (data.sum(axis=1) > 0).astype("float32")

    x = T.fmatrix("x")
    y = T.fvector("y")
    w = theano.shared(np.zeros(3, dtype="float32"), name="w")
    b = theano.shared(np.float32(0.0), name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    error = p_1 - y
    lr = np.float32(1.0)
    train = theano.function(
        [x, y], T.mean(-y * T.log(p_1) - (1 - y) * T.log(1 - p_1)),
        updates=[(w, w - lr * T.dot(x.T, error) / 50), (b, b - lr * T.mean(error))])
    first = train(data, labels)
    for _ in range(30):
        last = train(data, labels)
    assert first.dtype == np.float32 and w.get_value().dtype == np.float32
    assert last < first
