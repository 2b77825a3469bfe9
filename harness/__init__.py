"""Reproducibility harness for the experiments of a TensorFlow 2 study note.

Data flows one way: experiment -> run (seeds, determinism, device) -> record
-> golden store or comparison -> report.
"""
