"""The CPU kernels as an environment axis: read from the libraries, keyed, emulated, and never
used silently. A run under a kernel class the goldens cover is held to that class's own files;
under one they do not cover it is held to the base goldens and every failure says the kernels
differ."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from harness import kernels
from harness.errors import GoldenError, HarnessError
from harness.experiments import catalog
from harness.judge.ledger import KernelGolden, check_printed
from harness.judge.verdict import STRICT_ENV, kernel_class, load
from harness.record import Record
from harness.store import golden, spread
from tests.helpers import ROOT, cli, harness, without_data

AVX2_ONLY = frozenset({"sse4_1", "sse4_2", "avx", "avx2", "fma"})


def test_a_class_key_names_onednn_and_xla_only_where_they_part():
    assert kernels.Kernels("avx2", True, "native", "Haswell").key == "avx2"
    assert kernels.Kernels("avx2", True, "AVX2", "Haswell").key == "avx2"
    assert kernels.Kernels("avx2", True, "AVX512", "Haswell").key == "avx2+xla_avx512"
    # oneDNN's options off: its gemm still follows the ISA, so the key names both.
    assert kernels.Kernels("avx512_core_bf16", False, "native", "SkylakeX").key == "avx512_core_bf16_onednn_off"
    assert kernels.Kernels("avx2", False, "SSE4_2", "Haswell").key == "avx2_onednn_off+xla_sse4_2"
    # What oneDNN said, when it is not an ISA this harness knows, gets a short key stable across runs.
    unknown = kernels.Kernels("Intel AVX10.2/512 with Intel AMX (int8, bf16, fp16, fp8)", True, "native", "-")
    assert unknown.key == "isa_" + __import__("hashlib").sha256(unknown.onednn_isa.encode()).hexdigest()[:8]
    assert kernels.Kernels(unknown.onednn_isa, False, "native", "-").key == f"{unknown.key}_onednn_off"


# The words oneDNN's verbose line says (oneDNN's cpu_isa_traits.cpp, get_name), and the key each gets;
# Sapphire Rapids says the avx512_core_amx sentence (issue 28, read off such a machine).
@pytest.mark.parametrize(("words", "key"), [
    ("Intel AVX-512 with float16, Intel DL Boost and bfloat16 support and Intel AMX with bfloat16 and 8-bit "
     "integer support", "avx512_core_amx"),
    ("Intel AVX-512 with float16, Intel DL Boost and bfloat16 support", "avx512_core_fp16"),
    ("Intel AVX-512 with float16, Intel DL Boost and bfloat16 support and Intel AMX with bfloat16, float16 and "
     "8-bit integer support (preview support)", "avx512_core_amx_fp16"),
    ("Intel AVX-512 with Intel DL Boost and bfloat16 support", "avx512_core_bf16"),
    ("AArch64 (with Advanced SIMD & floating-point)", "asimd"),
    ("AArch64 SVE (256 bits)", "sve_256"),
])
def test_every_isa_onednn_names_has_a_short_class_name(words, key):
    isa = kernels.NAMED[words]
    assert kernels.Kernels(isa, True, "native", "-").key == key
    assert len(key) <= 20
    assert kernels.Kernels(isa, False, "native", "-").key == f"{key}_onednn_off"


def test_a_tensorflow_without_onednn_is_keyed_by_its_machine():
    assert kernels.Kernels("eigen_arm64", False, "native", "-").key == "eigen_arm64"


def test_onednn_s_avx10_aliases_cap_xla_as_the_isa_they_name(monkeypatch):
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX10_1_512_AMX")
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    kernels.align_xla()
    assert os.environ["XLA_FLAGS"] == "--xla_cpu_max_isa=AMX"


def test_the_classes_a_cpu_can_run_follow_its_flags():
    assert kernels.emulable(AVX2_ONLY) == ["sse41", "avx", "avx2", "avx2_onednn_off"]
    assert kernels.emulable(frozenset({"sse4_1"})) == ["sse41", "sse41_onednn_off"]
    assert kernels.openblas_cores(AVX2_ONLY) == ["Nehalem", "Sandybridge", "Haswell"]


def test_a_class_environment_replaces_the_users_caps():
    user = {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE", "TF_ENABLE_ONEDNN_OPTS": "0",
            "XLA_FLAGS": "--xla_dump_to=/tmp/x --xla_cpu_max_isa=AVX512", "HOME": "/root"}
    env = kernels.environment("avx2", user)
    assert env["ONEDNN_MAX_CPU_ISA"] == "AVX2" and env["TF_ENABLE_ONEDNN_OPTS"] == "1"
    assert env["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_cpu_max_isa=AVX2"
    assert env["HOME"] == "/root"
    off = kernels.environment("avx2_onednn_off", user)
    assert off["ONEDNN_MAX_CPU_ISA"] == "AVX2" and off["TF_ENABLE_ONEDNN_OPTS"] == "0"
    assert off["XLA_FLAGS"] == "--xla_dump_to=/tmp/x --xla_cpu_max_isa=AVX2"
    assert kernels.of_class("avx2_onednn_off+xla_sse4_2") == kernels.Kernels("avx2", False, "SSE4_2", "-")
    with pytest.raises(HarnessError, match=r"avx3.*one of"):
        kernels.environment("avx3", user)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(golden.ROOT / "cpu", tmp_path / "cpu")
    return tmp_path


def _manifest(root: Path, **fields: object) -> None:
    path = root / "cpu" / golden.MANIFEST
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(fields)
    path.write_text(yaml.safe_dump(data, sort_keys=True), encoding="utf-8")


def _damage_value(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _another_class() -> str:
    """A class key other than this process's, to stand for the goldens' base."""
    return next(k for k in ("sse41", "avx") if k != kernel_class("cpu"))


def test_a_class_is_held_to_its_own_files_where_it_has_them(root: Path, monkeypatch):
    # Exactly (on a CPU the classes were not computed on, the envelope would take the base's value).
    monkeypatch.setenv(STRICT_ENV, "1")
    here = kernel_class("cpu")
    assert here is not None
    other = _another_class()
    _manifest(root, kernel_class=other, kernel_classes=sorted({other, here}))
    own = golden.kernel_dir(root, "cpu", here)
    own.mkdir(parents=True, exist_ok=True)
    shutil.copy(root / "cpu" / "constant.yml", own / "constant.yml")
    stored = load(root, catalog.get("constant"), "cpu")
    _damage_value(own / "constant.yml", "- 1\n", "- 7\n")
    assert load(root, catalog.get("constant"), "cpu").scalars != stored.scalars, "the class's own file was not read"
    done = cli("check", "--golden-dir", str(root), "--device", "CPU:0", "constant")
    assert done.returncode == 1, done.stdout
    assert f"held to the goldens of kernel class {here} (its own files in kernels/{here}/" in done.stdout
    assert "kernels differ" not in done.stdout


def test_a_class_the_goldens_do_not_cover_is_never_compared_silently(root: Path):
    here = kernel_class("cpu")
    other = _another_class()
    _manifest(root, kernel_class=other, kernel_classes=[other])
    clean = cli("check", "--golden-dir", str(root), "--device", "CPU:0", "constant")
    assert f"kernel class {here}, which the goldens do not cover" in clean.stdout
    _damage_value(root / "cpu" / "constant.yml", "- 1\n", "- 7\n")
    done = cli("check", "--golden-dir", str(root), "--device", "CPU:0", "constant")
    assert done.returncode == 1
    assert f"kernels differ: this machine runs the CPU kernels of class {here}, and the goldens cover {other}" \
        in done.stdout


def test_a_class_with_another_key_on_disk_is_not_read(root: Path):
    """Another class's files are never used for this class's runs."""
    _manifest(root, kernel_classes=sorted({"sse41", str(kernel_class("cpu"))}))
    other = golden.kernel_dir(root, "cpu", "sse41" if kernel_class("cpu") != "sse41" else "avx")
    other.mkdir(parents=True, exist_ok=True)
    (other / "constant.yml").write_text("garbage: [", encoding="utf-8")
    assert load(root, catalog.get("constant"), "cpu").scalars == load(
        golden.ROOT, catalog.get("constant"), "cpu").scalars


@pytest.mark.parametrize("text, problem", [
    ("xla: fast\n", "neither `identical` nor"),
    ("graph: identical\n", "names the mode 'graph'"),
    ("xla:\n  first_epoch: 0\n  max_ulp: .nan\n", "a number of ULPs"),
    # An infinite distance bounded by nothing: any run that turns to NaN anywhere would match.
    ("xla:\n  first_epoch: 0\n  max_ulp: .inf\n", "without diverges_at"),
    ("xla:\n  first_epoch: 0\n  max_ulp: .inf\n  diverges_at: -3\n", "diverges_at"),
    ("xla:\n  first_epoch: 0\n  max_ulp: 5\n  since: 3\n", "neither `identical` nor"),
    ("- xla\n", "not a mapping of execution modes"),
])
def test_a_damaged_class_declaration_is_named(root: Path, text: str, problem: str):
    folder = golden.kernel_dir(root, "cpu", "sse41")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mse_regression.modes.yml").write_text(text, encoding="utf-8")
    with pytest.raises(GoldenError, match=problem) as raised:
        golden.read_mode_signatures(root, "cpu", "sse41", "mse_regression")
    assert "mse_regression.modes.yml" in str(raised.value)


def test_a_manifest_without_the_kernel_fields_says_to_regenerate(root: Path):
    path = root / "cpu" / golden.MANIFEST
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["kernel_class"]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(GoldenError, match=r"lacks the fields \['kernel_class'\][\s\S]*regen"):
        golden.read_manifest(root, "cpu")


def _record(name: str, **scalars: object) -> Record:
    return Record(name, "CPU:0", "cpu", "2.21.0", scalars=scalars)


def test_regeneration_keeps_only_what_a_class_changes(root: Path):
    shutil.rmtree(root / "cpu" / golden.KERNELS, ignore_errors=True)  # the committed classes' files
    base = load(root, catalog.get("constant"), "cpu")
    same = _record("constant", **base.scalars)
    moved = _record("constant", **{**base.scalars, "extra": 1})
    manifest = golden.read_manifest(root, "cpu") or {}
    golden.regenerate(root, "cpu", [same], manifest, {"avx": golden.ClassRuns([same]),
                                                      "sse41": golden.ClassRuns([moved])})
    assert not golden.kernel_dir(root, "cpu", "avx").exists(), "a class that changes nothing has a folder"
    assert (golden.kernel_dir(root, "cpu", "sse41") / "constant.yml").is_file()
    golden.regenerate(root, "cpu", [same], manifest, {"sse41": golden.ClassRuns([same])})
    assert not (golden.kernel_dir(root, "cpu", "sse41") / "constant.yml").exists(), "a stale class file stayed"
    with pytest.raises(GoldenError, match="lack"):
        golden.regenerate(root, "cpu", [same], manifest, {"sse41": golden.ClassRuns([])})


def test_a_printed_number_may_move_with_the_kernels_only_as_the_class_golden_does():
    """Under another class a number reproduces, or stops, as that class's golden says; a run
    that parts from its class's golden is still a failure."""
    experiment = catalog.get("mse_regression")
    printed = next(p for p in experiment.printed if p.known_difference)
    exact = float(printed.text)

    def located(value: float) -> Record:
        columns = {"epoch": [1000], **{c: [value] for c in experiment.table_columns()["columns"] if c != "epoch"}}
        return Record("mse_regression", "CPU:0", "cpu", "", columns=columns)

    matching, other = located(exact), located(exact * (1 + 1e-6))
    assert check_printed(experiment, printed, matching).verdict == "now reproduces"
    assert check_printed(experiment, printed, matching, KernelGolden("sse41", matching)).verdict == \
        "reproduces under these kernels"
    assert check_printed(experiment, printed, matching, KernelGolden("sse41", other)).verdict == "now reproduces"
    assert not check_printed(experiment, printed, matching, KernelGolden("sse41", other)).ok


LOWEST = "sse41"


@pytest.mark.skipif(LOWEST not in kernels.emulable(), reason="this CPU cannot run SSE4.1 kernels")
def test_the_check_passes_under_the_lowest_class_the_goldens_cover():
    """What a CPU without AVX computes, against the goldens of its class, and says which."""
    manifest = golden.read_manifest(golden.ROOT, "cpu") or {}
    assert LOWEST in manifest["kernel_classes"]
    moved = sorted({p.name.split(".")[0] for p in golden.kernel_dir(golden.ROOT, "cpu", LOWEST).glob("*")})
    assert moved, "the lowest class changes nothing: pick experiments it changes"
    names = ["forward_pass"] if "forward_pass" in moved else moved[:1]
    done = harness("check", "--device", "CPU:0", "--jobs", "1", *names,
                   env=kernels.environment(LOWEST, {"OPENBLAS_CORETYPE": "Haswell"}))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"held to the goldens of kernel class {LOWEST} (its own files in kernels/{LOWEST}/" in done.stdout
    # The kernels as the libraries report them: oneDNN's own ISA line, XLA's flag, OpenBLAS's core.
    for field, value in (("onednn_isa", LOWEST), ("xla_cpu_isa", "SSE4_2"), ("openblas_coretype", "Haswell")):
        line = f"{field}: goldens {manifest[field]!r}, here {value!r}"
        assert line in done.stdout or manifest[field] == value, (line, done.stdout)


@pytest.mark.skipif(LOWEST not in kernels.emulable(), reason="this CPU cannot run SSE4.1 kernels")
def test_regen_writes_another_class_where_it_differs_and_keeps_only_complete_classes(root: Path,
                                                                                      tmp_path_factory):
    """A regeneration of some experiments under this class and SSE4.1: forward_pass (which SSE4.1
    computes otherwise) gets a file of the class's own, constant does not; the classes it did not
    run are no longer complete, so their files go and the manifest no longer lists them."""
    here = kernel_class("cpu")
    base = (golden.read_manifest(root, "cpu") or {})["kernel_class"]
    if here != base:
        pytest.skip(f"this process runs kernel class {here}, not the goldens' base {base}: a partial "
                    f"regeneration here would make {here} the base of the experiments it writes")
    drift = tmp_path_factory.mktemp("reports") / "drift.md"  # outside the golden folder
    done = cli("regen", "forward_pass", "constant", "--device", "CPU:0", "--golden-dir", str(root),
               "--kernel-classes", LOWEST, "--drift-report", str(drift))
    assert done.returncode == 0, done.stderr
    manifest = golden.read_manifest(root, "cpu") or {}
    assert manifest["kernel_classes"] == sorted({str(here), LOWEST})
    own = golden.kernel_dir(root, "cpu", LOWEST)
    assert (own / "forward_pass.yml").read_bytes() != (root / "cpu" / "forward_pass.yml").read_bytes()
    assert not (own / "constant.yml").exists()
    assert sorted(p.name for p in (root / "cpu" / golden.KERNELS).iterdir()) == [LOWEST]
    assert f"`{LOWEST}`: 1 files: forward_pass.yml" in drift.read_text(encoding="utf-8")
    this_only = cli("regen", "constant", "--device", "CPU:0", "--golden-dir", str(root), "--kernel-classes",
                    "this", "--drift-report", str(drift))
    assert this_only.returncode == 0, this_only.stderr
    assert (golden.read_manifest(root, "cpu") or {})["kernel_classes"] == [here]
    assert not (root / "cpu" / golden.KERNELS).exists()


def test_a_partial_regeneration_writes_no_files_for_a_class_it_cannot_complete(tmp_path: Path):
    """A class the goldens did not cover gets no folder from a regeneration of some experiments:
    its files for the others would be missing, and a half-written class is never read. (On any
    machine: the goldens are first written here, with this machine's class as their base.)"""
    here = kernel_class("cpu")
    other = next((k for k in kernels.emulable() if k != here), None)
    if other is None:
        pytest.skip(f"this CPU runs no kernel class but its own ({here})")
    root, drift = tmp_path / "golden", tmp_path / "drift.md"
    root.mkdir()
    args = ("regen", "forward_pass", "--device", "CPU:0", "--golden-dir", str(root), "--drift-report", str(drift))
    assert cli(*args, "--kernel-classes", "this").returncode == 0
    assert golden.read_manifest(root, "cpu")["kernel_classes"] == [here]
    done = cli(*args, "--kernel-classes", other)
    assert done.returncode == 0, done.stderr
    assert not golden.kernel_dir(root, "cpu", other).exists()
    assert other not in (golden.read_manifest(root, "cpu") or {})["kernel_classes"]
    assert golden.paths(root, "cpu", "forward_pass").scalars.exists()


def test_a_class_records_a_mode_only_where_it_departs_from_the_declaration():
    from harness.judge.verdict import mode_signatures

    experiment = catalog.get("mse_regression")
    stored = load(golden.ROOT, experiment, "cpu")
    eager = Record(experiment.name, "CPU:0", "cpu", "", columns=stored.tables["columns"], scalars=stored.scalars)
    same = Record(experiment.name, "CPU:0", "cpu", "", columns=stored.tables["columns"], scalars=stored.scalars,
                  mode="function")
    moved_columns = {k: list(v) for k, v in stored.tables["columns"].items()}
    moved_columns["w1_0"][3] = float(np.nextafter(np.float32(moved_columns["w1_0"][3]), np.float32(2)))
    moved = Record(experiment.name, "CPU:0", "cpu", "", columns=moved_columns, scalars=stored.scalars,
                   mode="function")
    declared = experiment.mode_difference("xla")
    assert mode_signatures(experiment, eager, [same]) == {}  # function: identical, as declared
    assert mode_signatures(experiment, eager, [moved]) == {"function": (moved_columns["epoch"][3], 1.0, None)}
    as_xla = Record(experiment.name, "CPU:0", "cpu", "", columns=stored.tables["columns"], scalars=stored.scalars,
                    mode="xla")
    assert mode_signatures(experiment, eager, [as_xla]) == ({"xla": None} if declared else {})


def _with_goldens() -> list:
    """Every experiment; one without goldens only where its data is not here (CIFAR-10 offline)."""
    found = []
    for experiment in catalog.all_experiments():
        if golden.paths(golden.ROOT, "cpu", experiment.name).scalars.exists():
            found.append(experiment)
        else:
            assert without_data(experiment), f"{experiment.name} has no golden, and its data is here"
    return found


def test_every_committed_class_file_reads():
    """What the regeneration wrote for each class reads as a run under it would read it (a
    refusal here is a reader and a writer that disagree, as .inf did)."""
    manifest = golden.read_manifest(golden.ROOT, "cpu") or {}
    for key in manifest["kernel_classes"]:
        for experiment in _with_goldens():
            golden.load(golden.ROOT, "cpu", experiment.name, experiment.table_columns(), key)
            if experiment.training is not None:
                golden.read_mode_signatures(golden.ROOT, "cpu", key, experiment.name)


def test_a_claim_may_fail_under_a_class_only_as_its_golden_does():
    """With oneDNN's options off RMSProp does not diverge on this CPU: the course's claim that it
    does fails there, as that class's golden records; a run that parts from its golden still fails."""
    from harness.judge.ledger import check_claim

    experiment = catalog.get("iris_rmsprop")
    claim = next(c for c in experiment.claims if "diverges" in c.text and not c.needs)
    stored = golden.load(golden.ROOT, "cpu", experiment.name, experiment.table_columns())  # the base's
    diverging = Record(experiment.name, "CPU:0", "cpu", "", columns=stored.tables["columns"],
                       checkpoints=stored.tables["checkpoints"], scalars=stored.scalars)
    settled_columns = {k: [0.1 if k == "loss" else v for v in values]
                       for k, values in stored.tables["columns"].items()}
    settled = Record(experiment.name, "CPU:0", "cpu", "", columns=settled_columns, scalars={})
    assert check_claim(experiment, claim, diverging).holds
    assert not check_claim(experiment, claim, settled).ok
    as_golden = check_claim(experiment, claim, settled, kernels=KernelGolden("x_onednn_off", settled))
    assert as_golden.ok and not as_golden.holds
    assert "does not hold under kernel class x_onednn_off" in as_golden.describe()
    assert not check_claim(experiment, claim, settled, kernels=KernelGolden("x", diverging)).ok


def test_every_printed_number_and_claim_is_found_in_every_class_s_golden():
    """Under a covered class the ledger reads that class's golden as a record: each printed
    number and each claim of every experiment can be located there, whatever tables it has."""
    from harness.judge.ledger import check_claim

    manifest = golden.read_manifest(golden.ROOT, "cpu") or {}
    checked = 0
    for key in manifest["kernel_classes"]:
        for experiment in _with_goldens():
            stored = golden.load(golden.ROOT, "cpu", experiment.name, experiment.table_columns(), key)
            if not stored.span.whole:
                continue  # a golden of a declared prefix: its printed numbers and claims are a whole run's
            kernels_golden = KernelGolden(key, stored.record(experiment.name, "cpu"))
            # A run that computes exactly its class's golden: every number and claim is as that
            # class's golden says (the ledger reads the class's own values, not the base's).
            for number in experiment.printed:
                found = check_printed(experiment, number, kernels_golden.record, kernels_golden)
                assert found.ok and (found.measured is not None or number.not_comparable), (key, found.describe())
                checked += 1
            for claim in experiment.claims:
                if not claim.needs:
                    assert check_claim(experiment, claim, kernels_golden.record, None, kernels_golden).ok, \
                        (key, experiment.name, claim.text)
                    checked += 1
    assert checked > 100 * len(manifest["kernel_classes"]), checked


AVX2_CPU = frozenset({"sse4_1", "avx", "avx2", "fma"})
SAPPHIRE_RAPIDS = frozenset({"sse4_1", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq",
                             "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"})


@pytest.mark.parametrize(("own", "flags", "covered", "nearest"), [
    # An AVX2 CPU, whose TensorFlow leaves oneDNN's options off by default: the AVX2 class with them on.
    ("avx2_onednn_off", AVX2_CPU, ["sse41", "avx", "avx2", "avx512_core_bf16"], "avx2"),
    # The newest instruction set first; of its classes, the one with this CPU's own oneDNN options.
    ("avx2_onednn_off", AVX2_CPU, ["sse41_onednn_off", "avx2", "avx_onednn_off"], "avx2"),
    ("avx512_core_amx_onednn_off", SAPPHIRE_RAPIDS, ["avx2", "avx512_core_bf16", "avx512_core_bf16_onednn_off"],
     "avx512_core_bf16_onednn_off"),
    # A CPU newer than every covered class: the newest it can run.
    ("avx512_core_amx", SAPPHIRE_RAPIDS, ["sse41", "avx2", "avx512_core_bf16", "avx512_core_bf16_onednn_off"],
     "avx512_core_bf16"),
    # Nothing this CPU can run is covered.
    ("avx2", AVX2_CPU, ["avx512_core_bf16"], None),
])
def test_the_nearest_covered_class_is_the_newest_this_cpu_runs_with_its_own_options(own, flags, covered, nearest):
    assert kernels.nearest_covered(own, covered, flags) == nearest


def test_a_cpu_the_goldens_do_not_cover_runs_the_nearest_covered_class_unless_told_otherwise(tmp_path: Path):
    """check on a CPU whose own class the manifest leaves out: run under the nearest covered class,
    saying so (the runs held to that class's goldens); --own-kernels: its own, compared with the base."""
    own = kernels.own_class()
    root = tmp_path / "golden"
    shutil.copytree(golden.ROOT, root)
    covered = [k for k in golden.covered_classes(golden.ROOT, "cpu") if k != own]
    _manifest(root, kernel_classes=covered)
    nearest = kernels.nearest_covered(own, covered)
    # The kernels this process had before conftest chose a class for it: where it chose, its settings
    # replaced the user's, so the subprocess gets those of ``own`` (the CPU's, or the class the user
    # forced: ONEDNN_MAX_CPU_ISA=AVX2 TF_ENABLE_ONEDNN_OPTS=1 with AVX2's goldens hidden).
    env = dict(os.environ)
    if os.environ.get(kernels.OWN_ENV):
        env = kernels.environment(own, {k: v for k, v in env.items() if k != "HARNESS_ONEDNN_ISA"})
    env.pop(kernels.CHOICE_ENV, None)
    args = ("check", "constant", "--device", "CPU:0", "--jobs", "1", "--golden-dir", str(root))
    chosen = subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=600)
    if nearest is None:
        assert "runs under the nearest covered class" not in chosen.stdout
        return
    assert chosen.returncode == 0, chosen.stdout + chosen.stderr
    assert (f"this CPU's own kernel class {own} is not covered by the goldens: runs under the nearest covered "
            f"class {nearest}") in chosen.stdout, chosen.stdout
    assert f"held to the goldens of kernel class {nearest}" in chosen.stdout
    mine = subprocess.run([sys.executable, "-m", "harness", "--own-kernels", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert "runs under the nearest covered class" not in mine.stdout
    assert f"kernel class {own}, which the goldens do not cover" in mine.stdout, mine.stdout


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _class_runs(key: str, leave: str = "") -> golden.ClassRuns:
    """What class ``key`` computes, as its committed goldens hold it (every experiment with goldens)."""
    names = sorted(p.name.split(".", 1)[0] for p in (golden.ROOT / "cpu").glob("*.yml") if p.name != golden.MANIFEST)
    records = [golden.load(golden.ROOT, "cpu", n, catalog.get(n).table_columns(), key).record(n, "cpu")
               for n in names if n != leave]
    modes = {n: found for n in names if (found := golden.read_mode_signatures(golden.ROOT, "cpu", key, n))}
    return golden.ClassRuns(records, modes)


def test_a_class_added_beside_the_others_writes_only_its_files_and_its_key(root: Path):
    """regen --add-kernel-class's store: the AVX2 class taken out, then added again from what it computes,
    gives back its folder byte for byte (but for what other CPUs measured of it: a class added has no such
    measurement); the base's files and every other class's are untouched."""
    before = {k: v for k, v in _tree(root).items()
              if not (k.startswith("cpu/kernels/avx2/") and k.endswith(spread.SUFFIX))}
    manifest = yaml.safe_load((root / "cpu" / golden.MANIFEST).read_text(encoding="utf-8"))
    _manifest(root, kernel_classes=[k for k in manifest["kernel_classes"] if k != "avx2"])
    shutil.rmtree(golden.kernel_dir(root, "cpu", "avx2"))
    written = golden.add_class(root, "cpu", "avx2", _class_runs("avx2"))
    assert written and all("kernels/avx2/" in str(p) or p.name == golden.MANIFEST for p in written)
    assert _tree(root) == before


def test_adding_a_class_is_all_or_nothing(root: Path):
    manifest = yaml.safe_load((root / "cpu" / golden.MANIFEST).read_text(encoding="utf-8"))
    _manifest(root, kernel_classes=[k for k in manifest["kernel_classes"] if k != "avx2"])
    shutil.rmtree(golden.kernel_dir(root, "cpu", "avx2"))
    before = _tree(root)
    with pytest.raises(GoldenError, match="lack iris_adam: a class is covered for every experiment or not at all"):
        golden.add_class(root, "cpu", "avx2", _class_runs("avx2", leave="iris_adam"))
    assert _tree(root) == before
    with pytest.raises(GoldenError, match="kernel class sse41 is already covered"):
        golden.add_class(root, "cpu", "sse41", _class_runs("sse41"))
    assert _tree(root) == before


def test_add_kernel_class_refuses_a_part_of_the_catalogue_and_a_class_already_covered(root: Path):
    done = cli("regen", "iris_adam", "--add-kernel-class", "--golden-dir", str(root))
    assert done.returncode == 2 and "all or nothing" in done.stderr, done.stderr
    if kernels.current().key in golden.covered_classes(root, "cpu"):
        covered = cli("regen", "--add-kernel-class", "--golden-dir", str(root))
        assert covered.returncode == 2 and f"kernel class {kernels.current().key} is already covered" in covered.stderr
