"""``python -m harness.oracle [--epochs N]``: every program's float32 oracle run, from the CPU
golden's initial weights, with its products fused and unfused, as one SHA-256 per program (JSON
on stdout). Run under two OpenBLAS core types, equal digests say the oracle does not depend on
the BLAS kernel (tests/test_oracle.py, harness/report/cpukernels.py)."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys

import numpy as np

from harness import kernels, options
from harness.oracle import programs
from harness.store import golden

# A class whose weight gradients fuse multiply and add, and one whose do not.
FUSED = kernels.Kernels("avx2", True, "native", "-")
UNFUSED = kernels.Kernels("sse41", True, "native", "-")


def digests(epochs: int | None = None) -> dict[str, str]:
    found = {}
    for name in programs.PROGRAMS:
        scalars = golden.read_scalars(golden.paths(golden.ROOT, "cpu", name).scalars)
        digest = hashlib.sha256()
        for model in (FUSED, UNFUSED):
            run = programs.train(name, scalars, np.float32, epochs, kernels=model)
            digest.update(json.dumps(run.rows, sort_keys=True, default=float).encode("utf-8"))
        found[name] = digest.hexdigest()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.oracle", description=__doc__)
    parser.add_argument("--epochs", type=options.count("--epochs"), metavar="N",
                        help="shorten every program to N epochs (default: as written)")
    args = parser.parse_args(argv)
    json.dump({"openblas": kernels.openblas_coretype(), "digests": digests(args.epochs)}, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
