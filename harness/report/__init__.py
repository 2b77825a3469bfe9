"""What people read: the check summary, drift, failure plots, figures, benchmark and matrix reports.

TensorFlow-free: the matrix environment renders its report without it."""
