"""The course's Keras datasets (MNIST, Fashion-MNIST), as the programs load them, pinned.

A program keeps its line ``mnist = tf.keras.datasets.mnist`` and calls ``load_data(mnist)``
where it wrote ``mnist.load_data()``: Keras's own loader where its cache folder has the data
(``$KERAS_HOME/datasets/``, default ``~/.keras/datasets/``; a run never downloads), else the
files the datasets are published as (gzip'd IDX) from the folder the user names in
``HARNESS_DATA`` (``<folder>/mnist/``, ``<folder>/fashion-mnist/``). Either way every array is
held to the SHA-256 of its bytes, as published: another copy is an error that names the file
and the hashes. A dataset that is nowhere is ``DatasetMissing``: its experiments skip, saying
how to get it.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import DatasetError, DatasetMissing

VARIABLE = "HARNESS_DATA"
# The arrays (uint8 images and labels) by the file they are published in, and the SHA-256 of
# their bytes (MNIST: Yann LeCun's files; Fashion-MNIST: Zalando Research's).
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
PINNED = {
    "mnist": dict(zip(FILES, (
        "741c988805d008ac6e4c904b69001ba184c24b2c540a4ef403f4c71b676cf757",
        "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13",
        "6d87418db22cc8025d05968bec9bd5c3932904b23485740db143a061a2c9d161",
        "ddeff807876a9661a1110d45c266c86239a3a1b7d37da0c3716a7a683c852ff5"), strict=True)),
    "fashion-mnist": dict(zip(FILES, (
        "2e487a6c89124f78f2d7521542223cafe96f7123c3ca13d447772ac6ecbb3012",
        "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7",
        "c867c93ff95360594e8ec3287995350b824dd110b11595c0e13d5423f621867a",
        "3d0e6c6ea990b53b6f8f500a41cac93881d981b315f84578b7d915342ade01e9"), strict=True)),
}
HOW = ("fill Keras's cache once where there is a network (python -c \"import tensorflow as tf; "
       "tf.keras.datasets.mnist.load_data(); tf.keras.datasets.fashion_mnist.load_data()\"), or set "
       f"{VARIABLE} to a folder holding mnist/ and fashion-mnist/ with the four published .gz files each "
       "(README, 'The data')")


def _name(module: Any) -> str:
    return {"mnist": "mnist", "fashion_mnist": "fashion-mnist"}[module.__name__.rsplit(".", 1)[-1]]


def _idx(path: Path) -> np.ndarray:
    """A gzip'd IDX file (the datasets' published format): magic, dimensions, uint8 data."""
    data = gzip.decompress(path.read_bytes())
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def _from_keras(module: Any) -> tuple[Any, ...] | None:
    """Keras's loader, only where its cache has the files (it would try the network otherwise)."""
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    name = _name(module)
    cached = home / "datasets" / ("mnist.npz" if name == "mnist" else name)
    if not cached.exists():
        return None
    return tuple(module.load_data())


def _from_folder(name: str) -> tuple[Any, ...] | None:
    root = os.environ.get(VARIABLE)
    if not root:
        return None
    folder = Path(root) / name
    if not all((folder / f).is_file() for f in FILES):
        raise DatasetMissing(f"{VARIABLE}={root}: {folder} lacks some of {', '.join(FILES)}; {HOW}")
    x_train, y_train, x_test, y_test = (_idx(folder / f) for f in FILES)
    return (x_train, y_train), (x_test, y_test)


_LOADED: dict[str, tuple[Any, ...]] = {}


def load_data(module: Any) -> tuple[Any, ...]:
    """``module.load_data()`` (``tf.keras.datasets.mnist`` or ``fashion_mnist``), from Keras's cache
    or ``HARNESS_DATA``, each array checked against its published SHA-256; once per process (the
    arrays are read-only: a program that wrote into them would change the next run's data)."""
    name = _name(module)
    if name not in _LOADED:
        _LOADED[name] = _verified(module, name)
    return _LOADED[name]


def _verified(module: Any, name: str) -> tuple[Any, ...]:
    found = _from_keras(module) or _from_folder(name)
    if found is None:
        raise DatasetMissing(f"{name} is not in Keras's cache and {VARIABLE} is not set: {HOW}")
    (x_train, y_train), (x_test, y_test) = found
    for file, array in zip(FILES, (x_train, y_train, x_test, y_test), strict=True):
        digest = hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()
        if digest != PINNED[name][file]:
            raise DatasetError(f"{name}: the array of {file} has SHA-256 {digest}, the published one "
                               f"{PINNED[name][file]}: another copy of the data; use the published files")
        array.setflags(write=False)
    return (x_train, y_train), (x_test, y_test)


# The course's own data files, published with its code and shipped with the harness
# (harness/data/): the Kweichow Moutai (SH600519) daily prices of chapter 6, 2426 rows from
# 2010-04-26 to 2020-04-24 (other files of this name on the web are other downloads).
COURSE_DATA = Path(__file__).resolve().parents[1] / "data"
COURSE_FILES = {"SH600519.csv": "010ba7f99b4f532a1caddee40bf9239ec1684160d943a5ad14213ecf566b019a"}


def course_file(written: str) -> Path:
    """The file a program names (``'./SH600519.csv'``), from the harness's copy, held to its SHA-256."""
    name = Path(written).name
    if name not in COURSE_FILES:
        raise DatasetMissing(f"{written}: the harness ships {', '.join(COURSE_FILES)} only")
    path = COURSE_DATA / name
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "(missing)"
    if digest != COURSE_FILES[name]:
        raise DatasetError(f"{path}: SHA-256 {digest}, the course's file has {COURSE_FILES[name]}; restore "
                           "it from the repository (git checkout -- harness/data)")
    return path
