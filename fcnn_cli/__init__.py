"""fcnn: build, train, evaluate and explain fully-connected feed-forward networks."""

__version__ = "0.1.0"
