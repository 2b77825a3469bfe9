"""The Keras datasets as the course loads them: from Keras's cache or the folder the user names
(HARNESS_DATA), held to the published SHA-256 of every array; missing, they skip their
experiments saying how to get them; another copy is refused by name."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest
import tensorflow as tf

from harness.errors import DatasetError, DatasetMissing
from harness.experiments import datasets
from tests.helpers import cli

GIVEN = os.environ.get(datasets.VARIABLE)


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No dataset loaded in this process yet, and an empty Keras cache."""
    monkeypatch.setattr(datasets, "_LOADED", {})
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path


def test_a_missing_dataset_skips_its_experiments_saying_how_to_get_it(fresh, monkeypatch):
    monkeypatch.delenv(datasets.VARIABLE, raising=False)
    with pytest.raises(DatasetMissing, match=f"{datasets.VARIABLE} is not set"):
        datasets.load_data(tf.keras.datasets.mnist)
    done = cli("check", "mnist_dataset", "--device", "CPU:0", "--plots", str(fresh / "plots"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped: mnist is not in Keras's cache" in done.stdout and "1 skipped" in done.stdout


@pytest.mark.skipif(not GIVEN, reason=f"{datasets.VARIABLE} is not set: no published copy of the data here")
def test_another_copy_is_refused_naming_the_file_and_the_hashes(fresh, monkeypatch):
    copy = fresh / "data" / "mnist"
    shutil.copytree(Path(str(GIVEN)) / "mnist", copy)
    labels = copy / "train-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[8] = (raw[8] + 1) % 10  # the first label
    labels.chmod(0o644)
    labels.write_bytes(gzip.compress(bytes(raw)))
    monkeypatch.setenv(datasets.VARIABLE, str(fresh / "data"))
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte.gz has SHA-256 .* the published one "
                                           + datasets.PINNED["mnist"]["train-labels-idx1-ubyte.gz"]):
        datasets.load_data(tf.keras.datasets.mnist)
    done = cli("check", "mnist_dataset", "--device", "CPU:0", "--plots", str(fresh / "plots"))
    assert done.returncode == 2 and "train-labels-idx1-ubyte.gz" in done.stdout + done.stderr


@pytest.mark.skipif(not GIVEN, reason=f"{datasets.VARIABLE} is not set: no published copy of the data here")
def test_a_folder_without_the_files_is_named(fresh, monkeypatch):
    (fresh / "data" / "mnist").mkdir(parents=True)
    monkeypatch.setenv(datasets.VARIABLE, str(fresh / "data"))
    with pytest.raises(DatasetMissing, match=r"mnist lacks some of train-images-idx3-ubyte\.gz"):
        datasets.load_data(tf.keras.datasets.mnist)


def test_the_course_s_own_file_is_held_to_its_hash(tmp_path, monkeypatch):
    """SH600519.csv ships with the harness; a changed copy is refused by name, with the fix."""
    assert datasets.course_file("./SH600519.csv").name == "SH600519.csv"
    changed = tmp_path / "SH600519.csv"
    changed.write_bytes((datasets.COURSE_DATA / "SH600519.csv").read_bytes().replace(b"88.702", b"88.703"))
    monkeypatch.setattr(datasets, "COURSE_DATA", tmp_path)
    with pytest.raises(DatasetError, match=r"SH600519.csv: SHA-256 [0-9a-f]{64}, the course's file has 010ba7f9.*"
                                           r"git checkout -- harness/data"):
        datasets.course_file("./SH600519.csv")
    with pytest.raises(DatasetMissing, match=r"ships SH600519\.csv, 0\.png, .* only"):
        datasets.course_file("./SZ000001.csv")
