"""Visible devices, the user's selection of them, and the key goldens are kept under.

Devices are TensorFlow's logical devices, named as TensorFlow names them
without the ``/device:`` prefix (``CPU:0``, ``GPU:1``). Goldens are kept per
device kind (``cpu``, ``gpu``): every device of a kind must reproduce the same
golden.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.errors import HarnessError, UnknownName
from harness.record import KINDS


@dataclass(frozen=True)
class Device:
    name: str

    @property
    def kind(self) -> str:
        return self.name.split(":")[0].lower()

    @property
    def tf_name(self) -> str:
        return f"/device:{self.name}"


def visible() -> list[Device]:
    """Every logical CPU and GPU device TensorFlow sees, CPUs first."""
    import tensorflow as tf

    found = [
        Device(d.name.removeprefix("/device:"))
        for kind in ("CPU", "GPU")
        for d in tf.config.list_logical_devices(kind)
    ]
    return found


def select(spec: str | None, available: list[Device]) -> list[Device]:
    """The devices a comma-separated spec names: ``all``, a kind, or device names.

    A kind with no visible device selects nothing (the caller reports it as a
    skip); a device name that is not visible is an error listing the valid ones.
    """
    chosen: list[Device] = []
    for token in (spec or "all").split(","):
        token = token.strip()
        if not token:
            continue
        if token.lower() == "all":
            picked = available
        elif token.lower() in KINDS:
            picked = [d for d in available if d.kind == token.lower()]
        else:
            picked = [d for d in available if d.name.lower() == token.lower()]
            if not picked:
                valid = ["all", *KINDS, *(d.name for d in available)]
                raise UnknownName("device", token, valid)
        chosen += [d for d in picked if d not in chosen]
    return chosen


def missing_kinds(spec: str | None, available: list[Device]) -> list[str]:
    """Device kinds the spec asks for (``all`` asks for every kind) that no visible device has."""
    tokens = {t.strip().lower() for t in (spec or "all").split(",")}
    asked = set(KINDS) if "all" in tokens else tokens & set(KINDS)
    have = {d.kind for d in available}
    return [k for k in KINDS if k in asked and k not in have]


def why_missing(kind: str) -> str:
    """Why no device of a kind is visible, truly: a TensorFlow built without CUDA (the
    tensorflow-cpu wheel) can see no GPU whatever the machine has."""
    import tensorflow as tf

    if kind == "gpu" and not tf.test.is_built_with_cuda():
        return (f"this TensorFlow {tf.__version__} is a build without GPU support (tensorflow-cpu): "
                "install the harness with its gpu extra (tox -e gpu) on a machine with a GPU")
    return f"no {kind.upper()} visible to TensorFlow (tf.config.list_logical_devices('{kind.upper()}') is empty)"


def split_cpu(count: int) -> None:
    """Split the physical CPU into ``count`` logical devices.

    Lets the device logic be exercised with real devices on a machine without a
    GPU. It must run before TensorFlow initialises its devices.
    """
    import tensorflow as tf

    if count < 1:
        raise HarnessError(f"--logical-cpus must be at least 1, got {count}")
    (cpu,) = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
    except RuntimeError as exc:
        raise HarnessError(
            f"--logical-cpus {count}: cannot split the CPU, TensorFlow's devices are already "
            f"initialised in this process ({exc}); give it when the process starts "
            "(python -m harness --logical-cpus N ...)"
        ) from None
