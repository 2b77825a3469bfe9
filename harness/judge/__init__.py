"""Judging a record: against its golden (ULPs), its printed numbers and its claims (TensorFlow-free)."""
