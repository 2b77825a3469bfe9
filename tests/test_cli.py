"""``python -m harness`` as a user calls it: list, run, check, regen."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from harness import banners, modes
from harness.cli import updated
from harness.experiments import catalog
from harness.judge import verdict
from harness.store import golden
from tests.helpers import ROOT, cli, cpus, harness

CHEAP = ("cross_entropy", "softmax_cross_entropy", "tensor_creation", "common_functions")


def test_list_shows_every_experiment_grouped_by_chapter_and_section():
    done = cli("list")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for experiment in catalog.all_experiments():
        (line,) = [l for l in lines if l.startswith(experiment.name + " ")]
        assert str(experiment.section) in line
    headings = [l for l in lines if l.startswith("== ")]
    assert headings == ["== the note, 第二章 (chapter 2) ==", "== the note, snippets after 2.4 ==",
                        "== the course, 第一讲 初识TensorFlow (chapter 1) ==",
                        "== the course, 第二讲 深入TensorFlow (chapter 2) ==",
                        "== the course, 第三讲 使用八股搭建神经网络 (chapter 3) ==",
                        "== the course, 第四讲 神经网络八股拓展 (chapter 4) ==",
                        "== the course, 第五讲 卷积神经网络 (chapter 5) ==",
                        "== the course, 第六讲 循环神经网络 (chapter 6) ==", "== listed, not run here ==",
                        "== execution modes (--mode) ==",
                        "== the preamble: run before every program, which does not write it =="]
    # Every mode, with what it is for each kind of program, and which one each kind runs as written.
    for mode in modes.MODES.values():
        (line,) = [l for l in lines if l.startswith(mode.name + " ")]
        assert mode.keras_summary in line
    assert [l.split()[0] for l in lines if "(as written)" in l and l.split()[0] in modes.MODES] == ["eager", "function"]
    for program in catalog.not_runnable():
        (line,) = [l for l in lines if l.startswith(program.name + " ")]
        assert f"[{program.status}: {program.why}]" in line
    # A program too long to run whole by default says what check runs of it.
    (line,) = [l for l in lines if l.startswith("fashion_vgg16 ")]
    assert "check runs its first 20 batches, --whole all" in line
    (line,) = [l for l in lines if l.startswith("mnist_train_ex3 ")]
    assert "adapted where it misleads: os.path.exists('./checkpoint/mnist.ckpt' + '.index')" in line
    # A line the course wrote that raises somewhere is shown as written and as run.
    (line,) = [l for l in lines if l.startswith("keras_iris_sequential ")]
    assert "tf.keras.optimizers.SGD(lr=0.1) -> tf.keras.optimizers.SGD(learning_rate=0.1)" in line


def test_run_prints_what_the_programs_print():
    done = cli("run", "cross_entropy", "gradient_descent", "--device", "CPU:0")
    assert done.returncode == 0, done.stderr
    # The note's own lines, as it quotes TensorFlow's print, and the course's.
    assert "loss_ce1 tf.Tensor(0.5108256, shape=(), dtype=float32)" in done.stdout
    assert "loss_ce2 tf.Tensor(0.22314353, shape=(), dtype=float32)" in done.stdout
    assert "After 0 epoch,w is 2.600000,loss is 36.000000" in done.stdout
    assert "After 39 epoch,w is -1.000000,loss is 0.000000" in done.stdout


def test_run_json_gives_records_with_the_golden_columns_and_scalars():
    done = cli("run", "mse_regression", "iris_adam", "gradient_descent", "cross_entropy", "--device", "cpu",
               "--epochs", "201", "--json")
    assert done.returncode == 0, done.stderr
    records = json.loads(done.stdout)
    assert len(records) == 4 * len(cpus())
    for record in records:
        assert {"experiment", "device", "tf_version", "columns", "checkpoints", "scalars"} <= set(record)
    mse, adam, descent, ce = [r for r in records if r["device"] == cpus()[0]]
    assert list(mse["columns"]) == ["epoch", "w1_0", "w1_1", "loss"]
    assert mse["columns"]["epoch"] == [0, 200]
    assert list(adam["columns"]) == ["epoch", "loss", "test_acc"]
    assert adam["columns"]["epoch"] == list(range(201))
    assert adam["checkpoints"]["epoch"] == [0, 100, 200]
    assert list(adam["checkpoints"])[:3] == ["epoch", "w1_0", "w1_1"]
    assert adam["checkpoints"]["global_step"] == [4, 404, 804]  # 4 batches an epoch
    assert descent["columns"]["epoch"] == list(range(40))  # 201 is beyond the program: all of it
    committed = golden.paths(golden.ROOT, "cpu", "cross_entropy").scalars
    assert ce["scalars"] == yaml.safe_load(committed.read_text(encoding="utf-8"))


def test_an_unknown_experiment_exits_2_listing_the_valid_ones():
    done = cli("run", "mse_regresion")
    assert done.returncode == 2
    assert "unknown experiment 'mse_regresion'" in done.stderr
    assert all(e.name in done.stderr for e in catalog.all_experiments())


def test_check_passes_on_the_committed_goldens():
    done = cli("check", *CHEAP, "forward_pass")
    assert done.returncode == 0, done.stdout + done.stderr
    runs = (len(CHEAP) + 1) * len(cpus())  # each on every CPU device (--logical-cpus N: N of them)
    assert f"{runs} runs: {runs} identical" in done.stdout
    assert "h1 > h2" not in done.stdout  # claims that hold are counted, not listed
    assert "claims:" in done.stdout and "DOES NOT HOLD" not in done.stdout
    # A number that does not reproduce is listed with how far it is.
    assert "y_pro[0]" in done.stdout and "in the last printed digit, 1 ULP (float32)" in done.stdout


def test_check_of_a_prefix_judges_its_rows_and_says_what_it_did_not(tmp_path):
    """`check --epochs N`: the rows of the prefix against the golden's, in each mode as the
    declaration says of those epochs (lr_exponential_decay's XLA difference starts at epoch 3)."""
    out = tmp_path / "prefix.json"
    for mode, expected in (("eager", None), ("xla", "identical")):
        done = cli("check", "lr_exponential_decay", "--mode", mode, "--epochs", "2", "--json-out", str(out))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "a prefix of 2 epochs" in done.stdout and "were not judged" in done.stdout
        results = json.loads(out.read_text())["results"]
        assert len(results) == len(cpus())
        for result in results:
            assert (result["status"], result["mode_verdict"], result["printed"]) == ("identical", expected, 0)
    moved = tmp_path / "golden"
    shutil.copytree(golden.ROOT / "cpu", moved / "cpu")
    table = moved / "cpu" / "lr_exponential_decay.csv"
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace(",0.", ",1.", 1)  # the second row: inside the prefix
    table.write_text("".join(lines), encoding="utf-8")
    done = cli("check", "lr_exponential_decay", "--epochs", "2", "--golden-dir", str(moved), "--plots",
               str(tmp_path / "plots"))
    assert done.returncode == 1, done.stdout


def test_check_fails_and_says_where_on_a_changed_golden(tmp_path):
    shutil.copytree(golden.ROOT / "cpu", tmp_path / "cpu")
    path = tmp_path / "cpu" / "cross_entropy.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("loss_ce2: 0.", "loss_ce2: 1."),
                    encoding="utf-8")
    done = cli("check", "cross_entropy", "--golden-dir", str(tmp_path))
    assert done.returncode == 1
    assert "FAIL: scalar 'loss_ce2'" in done.stdout


def test_check_names_a_missing_golden(tmp_path):
    (tmp_path / "cpu").mkdir()
    done = cli("check", "tensor_creation", "--golden-dir", str(tmp_path))
    assert done.returncode == 2
    assert "tensor_creation.yml does not exist" in done.stdout and "tox -e regen" in done.stdout


def test_check_without_goldens_for_the_device_kind_stops_before_running(tmp_path):
    done = cli("check", "mse_regression", "--golden-dir", str(tmp_path))
    assert done.returncode == 2
    assert f"no cpu goldens in {tmp_path}" in done.stderr and "tox -e regen" in done.stderr
    assert "done in" not in done.stderr  # nothing ran


def test_regen_writes_what_is_committed_and_a_manifest(tmp_path):
    done = cli("regen", *CHEAP, "--golden-dir", str(tmp_path / "golden"), "--kernel-classes", "this",
                   "--drift-report", str(tmp_path / "drift.md"))
    assert done.returncode == 0, done.stderr
    drift = (tmp_path / "drift.md").read_text(encoding="utf-8")
    assert f"{len(CHEAP)} new." in drift and "TensorFlow (none) -> " in drift
    for name in CHEAP:
        committed = golden.paths(golden.ROOT, "cpu", name).scalars
        assert (tmp_path / "golden" / "cpu" / committed.name).read_bytes() == committed.read_bytes()
    manifest = golden.read_manifest(tmp_path / "golden", "cpu")
    assert manifest is not None and manifest["op_determinism"] is True


def test_an_unknown_mode_exits_2_listing_the_valid_ones():
    done = cli("run", "mse_regression", "--mode", "graph")
    assert done.returncode == 2
    assert "unknown mode 'graph'" in done.stderr
    assert all(mode in done.stderr for mode in modes.MODES)


def test_run_in_another_mode_gives_a_record_of_the_same_shape():
    eager, fused = (json.loads(cli("run", "mse_regression", "--device", "CPU:0", "--epochs", "501", "--json",
                                   "--mode", mode).stdout)[0] for mode in ("eager", "fused"))
    assert (eager["mode"], fused["mode"]) == ("eager", "fused")
    # The fused loop is bit-identical to eager on TF 2.21 (tests/test_modes.py).
    assert fused["columns"] == eager["columns"] and fused["scalars"] == eager["scalars"]


def test_a_mode_does_not_apply_to_a_computation_without_a_training_loop():
    done = cli("run", "cross_entropy", "--mode", "xla")
    assert done.returncode == 2
    assert "cross_entropy has no training loop" in done.stderr


def test_check_in_a_mode_says_declared_for_a_declared_difference_and_passes(tmp_path):
    """What is declared is the kernel class's: lr_exponential_decay's xla run departs from epoch 3
    by 5 ULP on the base class and AVX2, and not at all on AVX and SSE4.1 (their ``.modes.yml``)."""
    declared = verdict.declared_mode(golden.ROOT, catalog.get("lr_exponential_decay"), "cpu", "xla")
    out = tmp_path / "xla.json"
    done = cli("check", "lr_exponential_decay", "gradient_descent", "--mode", "xla",
                   "--json-out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    verdicts = {r["experiment"]: r["mode_verdict"] for r in json.loads(out.read_text())["results"]}
    assert verdicts == {"lr_exponential_decay": "declared" if declared else "identical",
                        "gradient_descent": "identical"}
    if declared is None:
        pytest.skip(f"lr_exponential_decay's xla run is identical to its eager run under kernel class "
                    f"{verdict.held_to(golden.ROOT, 'cpu')}: no declared difference to show here")
    assert f"declared (from epoch {declared.first_epoch}, max {declared.max_ulp:.0f} ULP)" in done.stdout


def test_an_output_file_gets_its_folder_made_inside_a_writable_one(tmp_path):
    """A fresh clone has no reports/tf-matrix/: the first release's results make it."""
    out = tmp_path / "new" / "deeper" / "check.json"
    done = cli("check", "tensor_creation", "--device", "cpu", "--json-out", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(out.read_text())["results"][0]["experiment"] == "tensor_creation"


def test_a_release_s_matrix_column_is_brought_up_to_date_for_the_experiments_named():
    """--update keeps what the file holds of the others, replaces the named ones' results."""
    old = [{"experiment": "mse_regression", "mode": "eager", "cell": "identical"},
           {"experiment": "tensor_creation", "mode": "eager", "cell": "FAIL (from an older run)"},
           {"experiment": "tensor_creation", "mode": "xla", "cell": "identical"}]
    new = [{"experiment": "tensor_creation", "mode": "eager", "cell": "identical"}]
    assert updated(old, new) == [old[0], new[0]]


def test_an_output_file_under_a_file_is_refused_naming_it(tmp_path):
    (tmp_path / "plain").write_text("x\n")
    done = cli("check", "tensor_creation", "--json-out", str(tmp_path / "plain" / "sub" / "out.json"))
    assert done.returncode == 2
    assert "--json-out" in done.stderr and "plain is not a folder" in done.stderr


@pytest.mark.parametrize("argv, says", [
    # The four examples of the issue that asked for "no traceback for any input".
    (["run", "mse_regression", "--epochs", "-5"], "argument --epochs: -5 is out of range (expected 1 to"),
    (["run", "mse_regression", "--epochs", "0"], "argument --epochs: 0 is out of range (expected 1 to"),
    (["regen", "tensor_creation", "--golden-dir", "/proc"], "argument --golden-dir: '/proc' is not writable"),
    (["check", "--golden-dir", "/nonexistent"], "argument --golden-dir: '/nonexistent' does not exist"),
    (["run", "gradient_descent", "--jobs", "x"], "argument --jobs: 'x' is not a whole number"),
    (["run", "gradient_descent", "gradient_descent"], "experiment 'gradient_descent' is named twice"),
    # Found by `tox -e fuzz`: figures drawn into the golden folder they were drawn from.
    (["figures", "--out", "golden"], "argument --out: 'golden' is inside the golden folder"),
    (["check", "tensor_creation", "--json-out", "golden/cpu/../check.json"], "is inside the golden folder"),
    (["figures", "--golden-dir", "golden", "--out", "harness/../golden/cpu"], "inside the golden folder"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_bad_input_exits_2_with_one_message_naming_it(argv, says):
    done = cli(*argv)
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr


def test_no_output_goes_into_any_golden_folder_not_only_the_one_in_use(tmp_path):
    """Found by `tox -e fuzz`: figures drawn from one golden folder into another."""
    other = tmp_path / "other"
    shutil.copytree(golden.ROOT / "cpu", other / "cpu")
    before = sorted(p.name for p in other.rglob("*"))
    for target in (other, other / "cpu", other / "cpu" / "new"):
        done = cli("figures", "--out", str(target))
        assert done.returncode == 2 and f"inside the golden folder {other}" in done.stderr, done.stderr
    assert sorted(p.name for p in other.rglob("*")) == before


def test_a_failing_check_draws_its_plot_where_it_is_told(tmp_path):
    """Found by `tox -e fuzz`: a check against another golden folder drew its failure plots into
    the project's reports/failures/, outside every folder it was given."""
    root = tmp_path / "golden"
    shutil.copytree(golden.ROOT / "cpu", root / "cpu")
    table = root / "cpu" / "gradient_descent.csv"
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = lines[-1].split(",")
    cells[2] = repr(float(cells[2]) * 1.001)  # w, 0.1% off at the last epoch
    lines[-1] = ",".join(cells)
    table.write_text("".join(lines), encoding="utf-8")
    project_plot = ROOT / "reports" / "failures" / "gradient_descent-CPU0-eager.png"
    before = project_plot.read_bytes() if project_plot.exists() else None
    done = cli("check", "gradient_descent", "--device", "cpu", "--golden-dir", str(root),
               "--plots", str(tmp_path / "plots"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert (tmp_path / "plots" / "gradient_descent-CPU0-eager.png").is_file()
    assert (project_plot.read_bytes() if project_plot.exists() else None) == before


def test_without_tensorflow_the_command_says_which_extra_to_install():
    """TensorFlow comes with the cpu or gpu extra: a plain install has none, and says so."""
    code = ("import sys; sys.modules['tensorflow'] = None\n"
            "from harness.cli import main\n"
            "sys.exit(main(['run', 'constant']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "TensorFlow is not installed" in done.stderr and ".[cpu]" in done.stderr
    assert "Traceback" not in done.stderr


def test_tensorflow_s_start_up_banners_are_left_out():
    """A run's standard error holds its progress, not TensorFlow's notices."""
    quiet = harness("run", "constant", "--jobs", "1")  # a fresh process: TensorFlow starts in it
    assert quiet.returncode == 0, quiet.stderr
    assert "constant on CPU:0 (eager): done" in quiet.stderr
    assert not any(banners.is_banner(line.encode()) for line in quiet.stderr.splitlines()), quiet.stderr



@pytest.mark.parametrize("verbose", [False, True])
def test_the_filter_drops_the_banners_from_file_descriptor_2_unless_verbose(tmp_path, verbose):
    """What child processes write goes through it too: it filters the descriptor, not sys.stderr."""
    banner = b"I0000 00:00:1796532363.807974   22403 port.cc:153] oneDNN custom operations are on.\n"
    kept = b"  constant on CPU:0 (eager): done in 0.0 s\n"
    saved = os.dup(2)
    try:
        with (tmp_path / "stderr").open("wb") as sink:
            os.dup2(sink.fileno(), 2)
            with banners.filtered(enabled=not verbose):
                os.write(2, banner + kept)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    assert (tmp_path / "stderr").read_bytes() == (banner + kept if verbose else kept)


def test_only_the_banners_are_left_out():
    for line in ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
                 "I0000 00:00:1796532363.807974   22403 port.cc:153] oneDNN custom operations are on.",
                 "2026-12-06 04:41:05.960603: I tensorflow/core/util/port.cc:113] oneDNN custom operations are on.",
                 "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow",
                 "E0000 00:00:1.2   7 node_def_util.cc:682] NodeDef mentions attribute use_unbounded_threadpool which",
                 "2026-12-06 06:27:59.233082: E tensorflow/core/framework/node_def_util.cc:680] NodeDef mentions "
                 "attribute use_unbounded_threadpool which is not in the op definition"):
        assert banners.is_banner(line.encode()), line
    for line in ("W0000 00:00:1796532363.807974   22403 op_kernel.cc:1857] OP_REQUIRES failed",
                 "error: golden file golden/cpu/x.yml does not exist", "  constant on CPU:0 (eager): done in 0.0 s",
                 "E0000 00:00:1.2   7 node_def_util.cc:682] NodeDef mentions attribute other_attr which is not in"):
        assert not banners.is_banner(line.encode()), line


def test_a_program_too_long_for_the_default_check_runs_its_prefix_unless_whole():
    """Fit.whole_here: check, run, regen and the matrix cut a long Keras program to its declared
    prefix; --whole, or a prefix in epochs, does not."""
    from harness.cli import _jobs
    from harness.execution.devices import Device
    from harness.span import WHOLE, Span

    long, short = catalog.get("fashion_vgg16"), catalog.get("mnist_sequential")
    assert not long.fit.whole_here and short.fit.whole_here
    cpu = [Device("CPU:0")]
    assert [j.span for j in _jobs([long, short], cpu, None)] == [Span.batches(long.fit.prefix), WHOLE]
    assert [j.span for j in _jobs([long, short], cpu, None, whole=True)] == [WHOLE, WHOLE]
    # A prefix in epochs is a Keras program's first epochs' batches (the unit fit stops at).
    assert [j.span for j in _jobs([long, short], cpu, None, epochs=1)] == [
        Span.batches(long.fit.steps_per_epoch), Span.batches(short.fit.steps_per_epoch)]
