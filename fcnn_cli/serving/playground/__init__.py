"""`fcnn playground`: TensorFlow Playground on fcnn's own core.

The playground is `fcnn train` with a reporter that waits for the Play button: each
session runs the real `Trainer` (fcnn_cli/training.py) in a thread, its reporter's
`epoch_start` waits at a gate that play and step open, and its `epoch_end` publishes a
frame (the decision boundary, every neuron's picture, the weights, the diagnostics) that
the page draws. So the numbers on the page are the numbers `fcnn train` computes with the
exported config, epoch by epoch, by construction.

- state.py: every control of the page, URL query <-> state <-> fcnn config (YAML);
- session.py: one training thread, its gate, its frames, the export;
- frames.py: one frame's JSON from a snapshot of the network;
- inspector.py: one neuron on one example, from forward-trace's own code;
- app.py, run.py: the web app and the `playground` command (the `serve` extra).
"""
