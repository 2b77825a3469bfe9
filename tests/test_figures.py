"""The course's figures, drawn from the goldens alone."""

from __future__ import annotations

import numpy as np
import pytest

from harness.experiments import catalog, datasets
from harness.report import figures
from harness.store import golden
from tests.helpers import cli, without_data

FROM_GOLDENS = ("iris_optimizers.png", "regularization.png", "keras_curves.png", "stock_prediction.png",
                "chapter4_curves.png", "cnn_curves.png")
NEEDS_DATA = "augmented_images.png"  # p11's pixels: drawn from a run, held to the golden's SHA-256


def _drawn(done, out) -> list[str]:
    names = sorted(p.name for p in out.iterdir())
    for name in names:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"wrote {out / name}" in done.stdout
    return names


def test_the_figures_command_draws_every_figure_from_the_goldens(tmp_path):
    if without_data(catalog.get("mnist_show_augmented")):
        pytest.skip("MNIST is not on this machine: the data-free case is the test below")
    done = cli("figures", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert _drawn(done, tmp_path) == sorted((*FROM_GOLDENS, NEEDS_DATA))


def test_without_the_data_the_figures_that_need_it_are_skipped_with_why(tmp_path, monkeypatch):
    """The README's promise: without MNIST and Fashion-MNIST their experiments (and p11's figure)
    skip, saying how to get the data; every figure the goldens alone draw is drawn."""
    monkeypatch.delenv(datasets.VARIABLE, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty-keras-home"))
    monkeypatch.setattr(datasets, "_LOADED", {})
    done = cli("figures", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert _drawn(done, tmp_path / "out") == sorted(FROM_GOLDENS)
    assert f"skipped {tmp_path / 'out' / NEEDS_DATA}: mnist is not in Keras's cache and HARNESS_DATA is not set" \
        in done.stdout


def test_the_boundary_comes_from_the_same_network_the_course_ran():
    # The figure's NumPy network, on the golden's final weights, gives the grid the run kept:
    # the same number of red points in every row (a point on the 0.5 line may round otherwise).
    for name in figures.REGULARIZATION:
        stored = golden.load(golden.ROOT, "cpu", name, None)
        final = {c: v[-1] for c, v in stored.tables["checkpoints"].items() if c != "epoch"}
        xx, yy = np.mgrid[-3:3:.1, -3:3:.1]
        probs = figures.network(final, np.c_[xx.ravel(), yy.ravel()]).reshape(xx.shape)
        assert [int(n) for n in (probs >= 0.5).sum(axis=1)] == stored.scalars["grid red per row"], name


def test_the_real_prices_are_the_ones_the_stock_programs_score_against():
    """The figure's real curve is the programs' real_stock_price: their MAE from the golden's
    predictions against it is the golden's MAE."""
    real = np.array(figures.real_prices())
    for name in figures.STOCK:
        stored = golden.load(golden.ROOT, "cpu", name, None)
        predicted = np.array(stored.scalars["predicted_stock_price"])
        assert len(predicted) == len(real) == 240
        assert np.isclose(np.mean(np.abs(predicted - real)), stored.scalars["平均绝对误差"], rtol=1e-12), name
