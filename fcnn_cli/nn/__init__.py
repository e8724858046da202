"""The NumPy core: activations, costs, initialisers, the network and its optimisers.

Imports numpy only; knows nothing of files, configs, the command line or printing.
"""

from .activations import NAMES as ACTIVATIONS
from .activations import Activation, make_activation
from .costs import NAMES as COSTS
from .costs import Cost, make_cost
from .network import Gradients, Network, Trace
from .optimizers import SGD, Adam, Optimizer, make_optimizer, scheduled_lr

__all__ = [
    "ACTIVATIONS", "COSTS", "Activation", "Adam", "Cost", "Gradients", "Network",
    "Optimizer", "SGD", "Trace", "make_activation", "make_cost", "make_optimizer",
    "scheduled_lr",
]
