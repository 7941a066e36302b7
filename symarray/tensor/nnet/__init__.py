"""Neural-network ops: sigmoid, softmax, log_softmax, crossentropies, relu."""

from symarray.tensor.nnet.basic import *  # noqa: F401,F403
from symarray.tensor.nnet.basic import __all__  # noqa: F401
