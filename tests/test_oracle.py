"""TensorFlow's runs against the NumPy oracle (harness/oracle/), which shares with them only
the programs' data and the initial weights recorded in the golden."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf

from harness import kernels
from harness.execution.run import pinned
from harness.experiments import catalog
from harness.experiments.keras import Built
from harness.judge.ledger import check_claim
from harness.judge.verdict import envelope_bands, load
from harness.oracle import agreement, programs
from harness.oracle import keras as keras_oracle
from harness.pytest_plugin import golden_root
from harness.report import bands
from harness.store import golden


@pytest.fixture(scope="module")
def oracle_runs():
    """float32 and float64 oracle runs per training experiment, from the golden's initial weights."""
    cache = {}

    def get(trainer, dtype):
        if (trainer.name, dtype) not in cache:
            scalars = load(golden.ROOT, trainer, "cpu").scalars
            # Products done as this process's kernel class does them (harness/oracle/arithmetic.py).
            cache[trainer.name, dtype] = programs.train(trainer.name, scalars, dtype, kernels=kernels.current())
        return cache[trainer.name, dtype]

    return get


def test_every_training_experiment_has_an_oracle(trainer):
    assert trainer.name in programs.PROGRAMS, f"{trainer.name} has no NumPy program in harness/oracle"


def test_oracle_has_the_programs_data_and_loop(trainer, device):
    # The oracle draws its own data; TensorFlow's, as the experiment builds it, must be the same
    # float32 values, and its loop the same length and learning rate.
    program = programs.PROGRAMS[trainer.name]
    with pinned(device):
        setup = trainer.training.setup()
    theirs = [tuple(np.asarray(tf.cast(v, tf.float32) if not tf.is_tensor(v) or v.dtype.is_floating
                               else v) for v in batch) for batch in setup.batches()]
    ours, _ = program.data()
    assert len(theirs) == len(ours)
    for a, b in zip(theirs, ours, strict=True):
        for x, y in zip(a, b, strict=True):
            assert np.array_equal(x, y)
    assert program.epochs == trainer.epochs
    assert [program.lr(e) if callable(program.lr) else program.lr for e in (0, 1, 7)] == [
        trainer.training.lr_at(e) for e in (0, 1, 7)]
    assert program.shapes == trainer.training.variables


def test_float32_oracle_agrees_with_tensorflow(trainer, device, record_of, oracle_runs, record_property, request):
    """As close as the program declares (harness/oracle/agreement.py), with the products done as
    this process's kernel class does them; the sweep (tox -e kernels) asks it of every class. On a
    class the oracle's kernel model was not measured on (verdict.portable), an exact agreement is held
    to the band the covered classes' goldens span, as the goldens are (saying so)."""
    record = record_of(trainer, device)
    run = oracle_runs(trainer, np.float32)
    for column, d in agreement.distances(run, record).items():
        record_property(f"{column}_max_ulp", float(d.max()))
    found = agreement.problems(trainer.name, run, record, trainer.tolerance_for)
    spanned = envelope_bands(golden_root(request.config), trainer, record) if found else None
    where = f"{trainer.name} on {device.name} (kernel class {kernels.current().key})"
    if spanned is not None:
        record_property("judged_by", "the envelope of the covered kernel classes")
        found = agreement.problems(trainer.name, run, record, trainer.tolerance_for, envelope=spanned)
        assert not found, f"{where}, judged by the envelope of the covered kernel classes: {found}"
    assert not found, f"{where}: {found}"


BANDED = [e for e in catalog.training_experiments() if e.tolerance.measured]


@pytest.mark.parametrize("banded", BANDED, ids=[e.name for e in BANDED])
def test_a_band_covers_the_oracle_against_the_base_golden_and_is_its_figure_on_the_goldens_cpu(banded):
    """The float32 oracle, its products done as the base class does them, against the base golden
    (TensorFlow-free, from the committed files): within the band on every machine; on the goldens'
    own kernel class, exactly the band's oracle figure (tests/test_tolerances.py). Elsewhere NumPy's
    own float32 exp and log (its SIMD dispatch) may round otherwise, and the figure is not asked."""
    trainer = banded
    base = (golden.read_manifest(golden.ROOT, "cpu") or {})["kernel_class"]
    stored = golden.load(golden.ROOT, "cpu", trainer.name, trainer.table_columns())
    run = programs.train(trainer.name, stored.scalars, np.float32, kernels=kernels.of_class(base))
    distances = agreement.distances(run, stored.record(trainer.name, "cpu"))
    largest = bands.split(trainer, {c: float(d.max()) for c, d in distances.items()})
    t = trainer.tolerance
    assert largest["values"] <= t.ulps and largest["state"] <= (t.state_ulps or t.ulps), (trainer.name, largest)
    measured = (round(largest["values"]), round(largest["state"]))
    figure = (dict(t.measured)["oracle"], dict(t.state_measured).get("oracle", 0))
    if kernels.current().key != base:
        pytest.skip(f"{trainer.name}: the oracle's figure {figure} was measured on kernel class {base}; this machine "
                    f"runs {kernels.current().key} and its NumPy gives {measured} (within the band)")
    assert measured == figure, (trainer.name, largest)


def test_float64_oracle_keeps_the_programs_claims(trainer, oracle_runs, record_of, device, record_property):
    """How far float32 rounding carries: exact arithmetic changes the numbers, and the claims
    of the program hold there too, except where the oracle says why not."""
    program = programs.PROGRAMS[trainer.name]
    run32, run64 = oracle_runs(trainer, np.float32), oracle_runs(trainer, np.float64)
    distances = agreement.distances(run64, record_of(trainer, device))
    record_property("float64_max_ulp", float(max(d.max() for d in distances.values())))
    if program.agreement == "weights exact":
        # The custom loss's tolerance is 0 because rounding flips tf.where branches: float64 and
        # float32 take different branches (the note's cost99: at 3195 of 10000 steps, first at
        # step 2511, on TF 2.21), and the claim survives them.
        flips = programs.branch_flips(run32, run64)
        record_property("branch_flip_steps", flips.steps)
        assert flips.steps > 0, "float64 and float32 take the same branches: the 0-ULP rationale is void"
    # How far exact arithmetic lands is reported (python -m harness.report.bands, its float64
    # column), not held to a band: the bands are float32 orders' (the MSE loop's 63 ULP on this
    # class, 75 without FMA, against its band of 64).
    record = run64.as_record(trainer.name, "float64")
    for claim in trainer.claims:
        if claim.needs:
            continue
        holds = check_claim(trainer, claim, record).holds
        if claim.text in program.float64_breaks:
            assert not holds, f"{claim.text!r} now holds in float64: {program.float64_breaks[claim.text]}"
        else:
            assert holds, f"{trainer.name}: {claim.text!r} does not hold in float64 arithmetic"


def test_the_oracle_does_not_depend_on_the_blas_kernel():
    """The oracle's products are NumPy element-wise operations in one order (harness/oracle/
    arithmetic.py), never OpenBLAS: under Haswell's and SkylakeX's kernels, the same bits.
    With NumPy's ``@`` the custom losses and the regularization runs differed between Haswell
    and SkylakeX within 30 epochs."""
    import json
    import os
    import subprocess
    import sys

    # The two core types of the machines this project has met (an AVX2 CPU's, an AVX-512 one's);
    # the sweep (tox -e kernels) compares every core type this CPU runs.
    cores = [c for c in kernels.openblas_cores() if c in ("Haswell", "SkylakeX")]
    if len(cores) < 2:
        pytest.skip(f"this CPU cannot run both Haswell and SkylakeX kernels (it runs {kernels.openblas_cores()})")
    found = {}
    for core in cores:
        done = subprocess.run([sys.executable, "-m", "harness.oracle", "--epochs", "30"], capture_output=True,
                              text=True, check=True, env={**os.environ, "OPENBLAS_CORETYPE": core})
        found[core] = json.loads(done.stdout)
        assert found[core]["openblas"] == core, f"OPENBLAS_CORETYPE={core} did not take: {found[core]['openblas']}"
    first = cores[0]
    for core in cores[1:]:
        differ = [n for n, d in found[core]["digests"].items() if d != found[first]["digests"][n]]
        assert not differ, f"the oracle under OpenBLAS {core} differs from {first} in {differ}"


def _exact_fma32(a: np.float32, b: np.float32, c: np.float32) -> np.float32:
    """a * b + c in exact rational arithmetic, rounded once to the nearest float32 (ties to even)."""
    from fractions import Fraction

    exact = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
    near = np.float32(float(exact))
    candidates = [np.nextafter(near, np.float32(-np.inf)), near, np.nextafter(near, np.float32(np.inf))]
    return min(candidates, key=lambda v: (abs(Fraction(float(v)) - exact), int(np.array(v).view(np.int32)) & 1))


def _near_midpoints(rng: np.random.RandomState, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triples whose exact a * b + c lies a hair off a float32 midpoint: a = 3 and b in [1, 4/3)
    with an odd significand make a * b exactly a midpoint of float32's grid in [3, 4), and
    c = +-2^-60, far below float64's resolution there, decides which way it rounds. A float64
    sum lands on the midpoint and its second rounding (ties to even) is wrong half the time."""
    bits = (rng.randint(0x3F800000, 0x3FAAAAAA, n) | 1).astype(np.int32)
    b = bits.view(np.float32)
    a = np.full(n, 3.0, dtype=np.float32)
    c = (rng.choice([-1.0, 1.0], n) * 2.0 ** -60).astype(np.float32)
    return a, b, c


def test_the_oracles_fused_multiply_add_rounds_once():
    """fma32 is an FMA, bit for bit, against exact rational arithmetic: sums next to a float32
    midpoint (where a float64 sum rounded again to float32 is one ULP off: the test holds such
    cases), cancellations, addends far below the product."""
    from harness.oracle.arithmetic import fma32

    rng = np.random.RandomState(5)
    a = rng.uniform(-2, 2, 3000).astype(np.float32)
    b = rng.uniform(-2, 2, 3000).astype(np.float32)
    c = np.concatenate([
        rng.uniform(-2, 2, 1000),
        -(a[1000:2000].astype(np.float64) * b[1000:2000]),  # cancellation: the exact product's rounding
        (a[2000:3000].astype(np.float64) * b[2000:3000]) * 2.0 ** -30,  # an addend far below the product
    ]).astype(np.float32)
    near = _near_midpoints(rng, 4000)
    a, b, c = (np.concatenate([u, v]) for u, v in zip((a, b, c), near, strict=True))
    want = np.array([_exact_fma32(x, y, z) for x, y, z in zip(a, b, c, strict=True)], dtype=np.float32)
    double_rounded = (a.astype(np.float64) * b + c).astype(np.float32)
    assert np.sum(double_rounded != want) >= 10, "the inputs no longer tell one rounding from two"
    got = np.array([fma32(float(x), float(y), float(z)) for x, y, z in zip(a, b, c, strict=True)], dtype=np.float32)
    assert np.array_equal(got.view(np.int32), want.view(np.int32)), int(np.sum(got != want))


# ---- the Keras programs: evaluated from the weights their goldens record ------------------

KERAS = [e for e in catalog.all_experiments() if e.fit is not None]


def _in_full(experiment) -> bool:
    if isinstance(experiment.fit.variables, Built):
        # Chapter 5's networks (their first convolution alone has 150 to 1,728 weights, over
        # in_full): listing them means building them, seconds each, in every process that asks.
        assert experiment.fit.in_full < 150
        return False
    return all(math.prod(shape) <= experiment.fit.in_full for shape in experiment.fit.variables.values())


def test_every_keras_program_whose_golden_holds_its_weights_is_followed():
    """A program whose every weight the golden records in full is followed by the oracle; one
    with a digest cannot be (and one that could be but is not would pass unseen)."""
    assert sorted(e.name for e in KERAS if _in_full(e) and e.fit.metrics[0] == "loss"
                  and "sparse_categorical_accuracy" in e.fit.metrics) == sorted(keras_oracle.FOLLOWED)


@pytest.mark.parametrize("name", sorted(keras_oracle.FOLLOWED))
def test_keras_oracle_has_the_programs_samples(name):
    """The samples the oracle evaluates on are the program's (its validation split, or its
    training set in any order)."""
    experiment = catalog.get(name)
    x, y, *_ = experiment.fit.data()
    ours_x, ours_y = keras_oracle.FOLLOWED[name].data()
    if keras_oracle.FOLLOWED[name].table == "validation":
        held = int(len(x) * experiment.fit.fit["validation_split"])
        x, y = x[-held:], y[-held:]
    def samples(x, y) -> list:
        return sorted(zip(np.asarray(x, dtype=np.float32).reshape(len(x), -1).tolist(), np.asarray(y).tolist(),
                          strict=True))

    assert samples(x, y) == samples(ours_x, ours_y)


@pytest.mark.parametrize("name", sorted(keras_oracle.FOLLOWED))
def test_keras_oracle_agrees_with_the_golden(name, record_property):
    """From each recorded epoch's weights, NumPy's loss within the band of what fit reported
    (the L2 penalty included where the program regularizes), the accuracy and the letters
    predicted after the last epoch exactly."""
    experiment = catalog.get(name)
    found = load(golden.ROOT, experiment, "cpu")
    compared, largest, wrong = keras_oracle.disagreements(name, found.tables, experiment.fit.variables,
                                                          found.scalars.get("predictions"))
    record_property("largest_ulp", largest)
    print(f"{name}: {compared} epochs, the oracle's loss within {largest:.0f} ULP of fit's")
    # Every recorded epoch's weights are followed by a report (a next epoch's: all but the last).
    assert compared == len(found.tables["checkpoints"]["epoch"]) - keras_oracle.FOLLOWED[name].offset
    assert not wrong, "\n".join(wrong)


def test_keras_oracle_sees_a_moved_report_and_a_wrong_prediction():
    """The agreement above can fail: a loss moved past the band, an accuracy changed or another
    printed letter is each a disagreement."""
    name = "rnn_onehot_1pre1"
    experiment = catalog.get(name)
    found = load(golden.ROOT, experiment, "cpu")
    predictions = found.scalars["predictions"]

    def moved(column: str, change) -> dict:
        tables = {t: {c: list(v) for c, v in table.items()} for t, table in found.tables.items()}
        row = tables["columns"]["epoch"].index(11)  # the loss the weights of epoch 10 give
        tables["columns"][column][row] = change(tables["columns"][column][row])
        return tables

    # BAND + 1 ULP from the oracle's own loss (not from fit's, which a class's kernels may put a few ULP
    # from it on the side a move of the golden's value would come back from).
    oracle = next(ev.loss for ev in keras_oracle.follow(name, found.tables, experiment.fit.variables) if ev.epoch == 10)
    far = moved("loss", lambda _: float((np.float32(oracle).view(np.int32) + keras_oracle.BAND + 1).view(np.float32)))
    assert keras_oracle.disagreements(name, far, experiment.fit.variables, predictions)[2]
    other = moved("sparse_categorical_accuracy", lambda v: 0.8 if v == 1.0 else 1.0)
    assert keras_oracle.disagreements(name, other, experiment.fit.variables, predictions)[2]
    wrong = [*predictions[:-1], predictions[-1][:-1] + "b"]
    assert keras_oracle.disagreements(name, found.tables, experiment.fit.variables, wrong)[2]
