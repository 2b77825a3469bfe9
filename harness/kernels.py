"""The CPU kernels a run's arithmetic depends on: an environment axis like the TensorFlow release.

Three libraries choose their kernels by the CPU they find, and each can be told to use an
older CPU's instead, so one machine can run what another runs:

- oneDNN (TensorFlow's matrix products, with or without ``TF_ENABLE_ONEDNN_OPTS``): by the
  instruction set, capped by ``ONEDNN_MAX_CPU_ISA``. It is read from oneDNN itself: with
  ``ONEDNN_VERBOSE=1`` it names the ISA it dispatches to.
- XLA's CPU compiler (the ``xla`` modes): by the host's instruction set, capped by
  ``XLA_FLAGS=--xla_cpu_max_isa=...``. A run that caps oneDNN without saying anything of XLA
  gets XLA capped to the same instruction set (``align_xla``), so that one variable
  emulates one CPU.
- OpenBLAS (NumPy's ``@``): by ``OPENBLAS_CORETYPE`` or the CPU; read with threadpoolctl.

The *kernel class* is the key goldens are kept under: the oneDNN ISA as oneDNN names it
(``avx2``, ``avx512_core_bf16``), with ``_onednn_off`` when TensorFlow's oneDNN options are off
(its matrix products still go through oneDNN's gemm, whose kernels follow the ISA), and
``+xla_<isa>`` when XLA's ISA is not the one that goes with it. OpenBLAS is recorded,
not keyed: TensorFlow does not use it (the sweep measures that the goldens do not move
with it).
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError

ONEDNN_ENV = "ONEDNN_MAX_CPU_ISA"
ONEDNN_OPTS_ENV = "TF_ENABLE_ONEDNN_OPTS"
XLA_ENV = "XLA_FLAGS"
OPENBLAS_ENV = "OPENBLAS_CORETYPE"
XLA_FLAG = re.compile(r"--xla_cpu_max_isa=(\S+)")
# The probe's answer, passed to the processes this one starts (pool workers, pytest-xdist
# workers) with the settings it was asked under: a worker with other settings asks again.
_ANSWER_ENV = "HARNESS_ONEDNN_ISA"

# oneDNN's x86 instruction sets, oldest first: the name ONEDNN_MAX_CPU_ISA takes, the words
# oneDNN's verbose line uses for it (oneDNN's src/cpu/x64/cpu_isa_traits.cpp, ``get_name``), the
# CPU flags (/proc/cpuinfo) it needs, and the --xla_cpu_max_isa value of the same CPU generation.
# oneDNN 3.5 and later accept AVX10_1_512, AVX10_1_512_AMX and AVX10_1_512_AMX_FP16 as aliases of
# the last three (its dispatcher_control.md): the class keeps the older name, as the verbose line does.
@dataclass(frozen=True)
class Isa:
    name: str
    verbose: str
    cpu_flags: tuple[str, ...]
    xla: str
    aliases: tuple[str, ...] = ()


_AVX512 = ("avx512f", "avx512bw", "avx512vl", "avx512dq")
ISAS = (
    Isa("sse41", "Intel SSE4.1", ("sse4_1",), "SSE4_2"),
    Isa("avx", "Intel AVX", ("avx",), "AVX"),
    Isa("avx2", "Intel AVX2", ("avx2",), "AVX2"),
    Isa("avx2_vnni", "Intel AVX2 with Intel DL Boost", ("avx2", "avx_vnni"), "AVX2"),
    Isa("avx512_core", "Intel AVX-512 with AVX512BW, AVX512VL, and AVX512DQ extensions", _AVX512, "AVX512"),
    Isa("avx512_core_vnni", "Intel AVX-512 with Intel DL Boost", (*_AVX512, "avx512_vnni"), "AVX512"),
    Isa("avx512_core_bf16", "Intel AVX-512 with Intel DL Boost and bfloat16 support",
        (*_AVX512, "avx512_vnni", "avx512_bf16"), "AVX512"),
    # Sapphire Rapids and newer Intel Xeons (AVX-512 FP16, then AMX): a class its users run and no
    # machine of this team can emulate.
    Isa("avx512_core_fp16", "Intel AVX-512 with float16, Intel DL Boost and bfloat16 support",
        (*_AVX512, "avx512_vnni", "avx512_bf16", "avx512_fp16"), "AVX512", ("avx10_1_512",)),
    Isa("avx512_core_amx", "Intel AVX-512 with float16, Intel DL Boost and bfloat16 support and Intel AMX "
        "with bfloat16 and 8-bit integer support",
        (*_AVX512, "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"), "AMX",
        ("avx10_1_512_amx",)),
    Isa("avx512_core_amx_fp16", "Intel AVX-512 with float16, Intel DL Boost and bfloat16 support and Intel AMX "
        "with bfloat16, float16 and 8-bit integer support (preview support)",
        (*_AVX512, "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "amx_fp16"),
        "AMX_FP16", ("avx10_1_512_amx_fp16",)),
)
BY_NAME = {isa.name: isa for isa in ISAS}
# oneDNN's AArch64 instruction sets (src/cpu/aarch64/cpu_isa_traits.cpp): named, never emulated here.
# On arm64 none of the x86 kernels above exist, so no x86 class's bits can be computed there: an arm64
# CPU's class is its own (``asimd`` or ``sve_<bits>``, ``_onednn_off`` as on x86), judged by the
# envelope until someone covers it (python -m harness regen --add-kernel-class). A TensorFlow built
# without oneDNN (macOS arm64) prints no ISA line: its class is ``eigen_<machine>``.
AARCH64 = {"AArch64 (with Advanced SIMD & floating-point)": "asimd",
           **{f"AArch64 SVE ({bits} bits)": f"sve_{bits}" for bits in (128, 256, 512)}}
NAMED = {**{isa.verbose: isa.name for isa in ISAS}, **AARCH64}
# With TensorFlow's oneDNN options off the matrix products still go through oneDNN's gemm, whose
# kernels follow the ISA (measured: other bits under AVX2 and SSE4.1 caps): the key names both.
OFF = "_onednn_off"
# OpenBLAS core types (OPENBLAS_CORETYPE) of x86-64 generations, with the CPU flags each needs:
# the distinct kernels of NumPy's OpenBLAS (0.3.31). Zen and Cooperlake are not among them: asked
# for, threadpoolctl reports Haswell and SkylakeX, whose kernels they run.
OPENBLAS_CORES = (
    ("Nehalem", ("sse4_2",)), ("Sandybridge", ("avx",)), ("Haswell", ("avx2", "fma")),
    ("SkylakeX", ("avx512f", "avx512bw", "avx512vl", "avx512dq")),
)


def openblas_cores(flags: frozenset[str] | None = None) -> list[str]:
    """The OpenBLAS core types this CPU can run."""
    flags = cpu_flags() if flags is None else flags
    return [name for name, needs in OPENBLAS_CORES if set(needs) <= flags]


@dataclass(frozen=True)
class Kernels:
    """What decides a CPU run's arithmetic, as the libraries report it."""

    onednn_isa: str  # oneDNN's name, or what its verbose line said when it is not one of ISAS
    onednn_opts: bool  # TF_ENABLE_ONEDNN_OPTS (on unless set to 0)
    xla_isa: str  # the --xla_cpu_max_isa in force, or "native"
    openblas: str  # OpenBLAS's core type, as threadpoolctl reports it

    @property
    def key(self) -> str:
        """The kernel class: the key of the goldens that hold for these kernels."""
        isa = short_name(self.onednn_isa)
        base = isa if self.onednn_opts or isa.startswith(EIGEN) else f"{isa}{OFF}"
        native_xla = BY_NAME[self.onednn_isa].xla if self.onednn_isa in BY_NAME else None
        if self.xla_isa not in ("native", native_xla):
            return f"{base}+xla_{self.xla_isa.lower()}"
        return base

    def fields(self) -> dict[str, str]:
        """The fingerprint's fields (manifest, headers, drift report)."""
        return {"kernel_class": self.key, "onednn_isa": self.onednn_isa,
                "openblas_coretype": self.openblas, "xla_cpu_isa": self.xla_isa}


EIGEN = "eigen_"  # TensorFlow built without oneDNN: its own Eigen kernels, by the machine's name
UNNAMED = "isa_"


def short_name(isa: str) -> str:
    """A class's ISA part: oneDNN's short name, or for words no table here knows (a newer oneDNN's ISA,
    AVX10.2 say) a short key stable across runs, ``isa_`` and 8 hex digits of the words' SHA-256
    (``unnamed`` quotes the words once in the headers)."""
    if isa in BY_NAME or isa in AARCH64.values() or isa.startswith((EIGEN, "unknown")):
        return isa.split(" ", 1)[0]
    return UNNAMED + hashlib.sha256(isa.encode("utf-8")).hexdigest()[:8]


def unnamed() -> str | None:
    """For headers: oneDNN's words for this CPU's ISA where they have no short name here (None: named)."""
    isa = current().onednn_isa
    if short_name(isa).startswith(UNNAMED):
        return (f"kernel class {short_name(isa)} is oneDNN's \"{isa}\", an instruction set this harness has no "
                "name for (harness/kernels.py, ISAS)")
    return None


def _parse(key: str) -> tuple[str, bool, str]:
    """(oneDNN ISA, options on, XLA ISA or "") of a class key."""
    onednn, _, xla = key.partition("+xla_")
    isa = onednn.removesuffix(OFF)
    return isa, isa == onednn, xla.upper()


def of_class(key: str) -> Kernels:
    """The kernels a process of class ``key`` runs (its OpenBLAS left unknown: not keyed)."""
    isa, opts, xla = _parse(key)
    return Kernels(isa, opts, xla or (BY_NAME[isa].xla if isa in BY_NAME else "native"), "-")


def cpu_model() -> str:
    """The CPU's model name, as the manifest records it (``device``)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_identity() -> tuple[str | None, str]:
    """This CPU as the goldens' manifest knows the one that computed every covered class: the newest
    oneDNN instruction set it can run (its ``onednn_isa`` uncapped) and its model name (``device``)."""
    isas = [isa.name for isa in ISAS if set(isa.cpu_flags) <= cpu_flags()]
    return (isas[-1] if isas else None), cpu_model()


def computed_here(manifest: Mapping[str, Any]) -> bool:
    """Whether this CPU is the one a golden manifest says computed every covered class."""
    return cpu_identity() == (manifest.get("onednn_isa"), manifest.get("device"))


def cpu_flags() -> frozenset[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def emulable(flags: frozenset[str] | None = None) -> list[str]:
    """Every kernel class this CPU can run: each oneDNN ISA its flags allow, and oneDNN's options
    off under its newest (what the CPU runs with the options off and no cap)."""
    flags = cpu_flags() if flags is None else flags
    isas = [isa.name for isa in ISAS if set(isa.cpu_flags) <= flags]
    return isas + [f"{isas[-1]}{OFF}"] if isas else []


def environment(key: str, base: Mapping[str, str]) -> dict[str, str]:
    """``base`` (a process environment) with the kernels of class ``key`` in place of its own:
    for a child process, before its TensorFlow starts."""
    isa, opts, xla = _parse(key)
    # The class's variables replace the user's; a probe answer passed down is asked under other
    # settings than the class's, so a child never takes it (onednn_isa).
    env = {k: v for k, v in base.items() if k != OWN_ENV}
    env[CHOICE_ENV] = "own"  # a child asked to run a class runs it, whatever the goldens cover
    if isa not in BY_NAME:
        if OWN_ENV not in os.environ and key == current().key:
            return env  # this process's own class, one no cap can name (arm64's, an unnamed ISA): as it is
        raise HarnessError(f"{key!r} is not a kernel class this CPU can run: one of {', '.join(emulable())}")
    flags = XLA_FLAG.sub("", env.pop(XLA_ENV, "")).strip()
    env.update({ONEDNN_OPTS_ENV: "1" if opts else "0", ONEDNN_ENV: isa.upper()})
    env[XLA_ENV] = f"{flags} --xla_cpu_max_isa={xla or BY_NAME[isa].xla}".strip()
    return env


def align_xla() -> None:
    """XLA runs the instruction set oneDNN is capped to, unless XLA_FLAGS says otherwise: one
    variable emulates one CPU. Called before TensorFlow compiles anything."""
    cap = os.environ.get(ONEDNN_ENV, "").lower()
    cap = next((isa.name for isa in ISAS if cap in isa.aliases), cap)
    flags = os.environ.get(XLA_ENV, "")
    if cap in BY_NAME and not XLA_FLAG.search(flags):
        os.environ[XLA_ENV] = f"{flags} --xla_cpu_max_isa={BY_NAME[cap].xla}".strip()


def xla_isa() -> str:
    found = XLA_FLAG.search(os.environ.get(XLA_ENV, ""))
    return found.group(1).upper() if found else "native"


def openblas_coretype() -> str:
    """The core type of the OpenBLAS NumPy loaded (threadpoolctl reads it from the library)."""
    import numpy  # noqa: F401  (loads its OpenBLAS)
    from threadpoolctl import threadpool_info

    found = [i.get("architecture") or "unknown" for i in threadpool_info() if i.get("internal_api") == "openblas"]
    return ", ".join(sorted(set(found))) or "no OpenBLAS"


_PROBE = ("import tensorflow as tf\nfrom tensorflow.python.util import _pywrap_util_port\n"
          "x = tf.ones([4, 4])\ntf.matmul(x, x)\nprint('onednn_opts:', _pywrap_util_port.IsMklEnabled())\n")


def onednn_isa() -> str:
    """The ISA oneDNN dispatches to in this environment, in oneDNN's own words."""
    return _onednn()[0]


def onednn_opts() -> bool:
    """Whether TensorFlow runs its oneDNN operations here: ``TF_ENABLE_ONEDNN_OPTS`` where it is set,
    else TensorFlow's own default, which depends on the CPU (on where it finds AVX-512 VNNI or newer,
    off on an AVX2 CPU): so it is asked of TensorFlow, never read from the variable."""
    return _onednn()[1]


@functools.cache
def _onednn() -> tuple[str, bool]:
    """oneDNN's ISA and TensorFlow's oneDNN options, asked of a fresh process (oneDNN reads
    ONEDNN_VERBOSE once, when it starts; TensorFlow decides its options when it loads)."""
    asked = f"{os.environ.get(ONEDNN_ENV, '')}|{os.environ.get(ONEDNN_OPTS_ENV, '')}|"
    cached = os.environ.get(_ANSWER_ENV, "")
    if cached.startswith(asked) and cached.count("|") == 3:
        isa, opts = cached[len(asked):].split("|")
        return isa, opts == "on"
    env = {**os.environ, "ONEDNN_VERBOSE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    try:
        out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True,
                             timeout=300, check=False).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({type(exc).__name__})", os.environ.get(ONEDNN_OPTS_ENV, "1").strip() not in ("0", "false")
    said = next((line.split("isa:", 1)[1].strip() for line in out.splitlines() if ",isa:" in line), None)
    enabled = "onednn_opts: True" in out
    if said is not None:
        found = NAMED.get(said, said)
    elif "onednn_opts:" in out:  # TensorFlow ran, oneDNN said nothing: a build without it
        found = f"{EIGEN}{platform.machine().lower()}"
    else:
        found = "unknown (the probe failed)"
    os.environ[_ANSWER_ENV] = f"{asked}{found}|{'on' if enabled else 'off'}"
    return found, enabled


@functools.cache
def current() -> Kernels:
    """The kernels of this process's environment."""
    return Kernels(onednn_isa(), onednn_opts(), xla_isa(), openblas_coretype())


# "own": run this CPU's own kernels even where the goldens do not cover them (judged against the
# base goldens, every failure saying the kernels may be why). Unset: a CPU whose own kernel class
# the goldens do not cover runs the nearest class they cover that it can run (``run_covered``).
CHOICE_ENV = "HARNESS_KERNELS"
# Set by ``run_covered`` for this process and its children: the class this CPU runs by itself.
OWN_ENV = "HARNESS_OWN_KERNEL_CLASS"


def own_class() -> str:
    """The kernel class this CPU runs by itself (before ``run_covered`` chose another)."""
    return os.environ.get(OWN_ENV) or current().key


def nearest_covered(own: str, covered: Sequence[str], flags: frozenset[str] | None = None) -> str | None:
    """The covered class nearest to ``own`` that this CPU can run: the newest instruction set, with
    TensorFlow's oneDNN options as ``own`` has them where that class is covered (None: none)."""
    _, opts, _ = _parse(own)
    flags = cpu_flags() if flags is None else flags
    # Every ISA this CPU has, options on or off (the options-off gemm follows the cap too).
    runnable = [k for isa in ISAS if set(isa.cpu_flags) <= flags for k in (isa.name, f"{isa.name}{OFF}")
                if k in covered]

    def rank(key: str) -> tuple[int, bool]:
        their_isa, their_opts, _ = _parse(key)
        return ISAS.index(BY_NAME[their_isa]), their_opts == opts

    return max(runnable, key=rank, default=None)


def run_covered(covered: Sequence[str]) -> tuple[str, str] | None:
    """Before TensorFlow starts: where this CPU's own kernel class is not among ``covered`` and it can
    run one that is, this process (and every process it starts) runs the nearest covered class
    (``environment``), so that its runs are judged exactly; ``HARNESS_KERNELS=own`` keeps the CPU's
    own. Returns (own class, class run) when it chose, else None."""
    if os.environ.get(CHOICE_ENV, "").strip().lower() == "own":
        return None
    if os.environ.get(OWN_ENV):
        return os.environ[OWN_ENV], current().key  # a parent chose; this process inherited it
    if "tensorflow" in sys.modules:
        return None  # too late: TensorFlow read its settings when it loaded (a command called in-process)
    own = current().key
    target = None if own in covered else nearest_covered(own, covered)
    if target is None:
        return None
    os.environ.update(environment(target, os.environ))
    os.environ[OWN_ENV] = own
    current.cache_clear()
    _onednn.cache_clear()
    return own, current().key


def chosen() -> str | None:
    """What ``run_covered`` did, in words for headers (None: the CPU runs its own kernels)."""
    own = os.environ.get(OWN_ENV)
    if not own:
        return None
    return (f"this CPU's own kernel class {own} is not covered by the goldens: runs under the nearest covered "
            f"class {current().key} ({ONEDNN_ENV}={os.environ.get(ONEDNN_ENV, '')}, "
            f"{ONEDNN_OPTS_ENV}={os.environ.get(ONEDNN_OPTS_ENV, '')}, set for this run); "
            f"{CHOICE_ENV}=own runs its own")
