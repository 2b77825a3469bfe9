"""One module per section of the notes; importing them registers the experiments in
the order the notes present them."""

from harness.experiments import loss_functions, tensor_basics  # noqa: F401
