"""Theano's ``theano.sandbox`` import paths (``sandbox.rng_mrg``)."""
