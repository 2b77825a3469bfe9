"""An independent oracle: the training programs of the note and the course in NumPy, with
analytic gradients, in float32 and float64.

It checks the harness with something other than TensorFlow. Its inputs are each
program's data, drawn with NumPy as the program draws it, and the initial weights as
the CPU golden records them (TensorFlow's seeded draw, taken once); after that no
value comes from TensorFlow. Its constants (seeds, learning rates, epochs, betas) are
written again here on purpose, so that a change to a program shows as a disagreement
rather than passing through both.

TensorFlow-free.
"""
