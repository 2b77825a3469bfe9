"""The course's Keras datasets (MNIST, Fashion-MNIST; CIFAR-10 from Keras's cache only), as the
programs load them, pinned.

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


# CIFAR-10 (chapter 5) comes from Keras's cache only, where ``cifar10.load_data()`` put it (Keras
# checks the archive's hash as it downloads it); it is not in the data folder the harness reads.
CIFAR10 = "cifar-10-batches-py"


def _name(module: Any) -> str:
    return {"mnist": "mnist", "fashion_mnist": "fashion-mnist", "cifar10": CIFAR10}[module.__name__.rsplit(".", 1)[-1]]


def _idx(path: Path) -> np.ndarray:
    """A gzip'd IDX file (the datasets' published format): magic, dimensions, uint8 data."""
    data = gzip.decompress(path.read_bytes())
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def _cached(name: str) -> bool:
    """Whether Keras's cache has a dataset's files (its loader would try the network otherwise)."""
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return (home / "datasets" / ("mnist.npz" if name == "mnist" else name)).exists()


def _from_keras(module: Any) -> tuple[Any, ...] | None:
    return tuple(module.load_data()) if _cached(_name(module)) else None


def require(module: Any) -> None:
    """DatasetMissing, saying how to get it, where a dataset is neither in Keras's cache nor (MNIST,
    Fashion-MNIST) in ``HARNESS_DATA``: before a run builds anything (nothing is read here)."""
    name = _name(module)
    if _cached(name):
        return
    if name == CIFAR10:
        raise DatasetMissing("CIFAR-10 is not in Keras's cache (it is not published in the data folder the "
                             "harness reads): fill the cache once where there is a network (python -c \"import "
                             "tensorflow as tf; tf.keras.datasets.cifar10.load_data()\"), or run it in the "
                             "whole-run workflow (docs/ci.md)")
    root = os.environ.get(VARIABLE)
    if not root:
        raise DatasetMissing(f"{name} is not in Keras's cache and {VARIABLE} is not set: {HOW}")
    folder = Path(root) / name
    if not all((folder / f).is_file() for f in FILES):
        raise DatasetMissing(f"{VARIABLE}={root}: {folder} lacks some of {', '.join(FILES)}; {HOW}")


def _from_folder(name: str) -> tuple[Any, ...]:
    folder = Path(os.environ[VARIABLE]) / name
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
    require(module)
    found = _from_keras(module) or _from_folder(name)
    if name == CIFAR10:
        return found  # Keras checked the archive's hash as it downloaded it
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
# 2010-04-26 to 2020-04-24 (other files of this name on the web are other downloads); chapter 4's
# hand-drawn digits (0.png .. 9.png) and clothing photos (0_t-shirt.jpeg ..), which its
# application programs classify.
COURSE_DATA = Path(__file__).resolve().parents[1] / "data"
COURSE_FILES = {
    "SH600519.csv": "010ba7f99b4f532a1caddee40bf9239ec1684160d943a5ad14213ecf566b019a",
    "class4/0.png": "595cb024f10db126eaa08c7419c3e613f59059902522e3d3263e7757eb154426",
    "class4/0_t-shirt.jpeg": "f2ccab15454e04ed7e284286c20240e87cd01dd4c2535035c6afa3fa2089bbda",
    "class4/1.png": "9034363808219b6423a02a9564ed9edbfccb4a04e897955e25c2dc84a06bda4b",
    "class4/1_trouser.jpeg": "446eb3e4a4806576878aef0a01def0af4ff37cd8323cba250255cff28376cf7c",
    "class4/2.png": "982349cbc64165b2bf765ee02b41caa096584e6bd5e11b88cd0c4834bf8cae08",
    "class4/2_pullover.jpeg": "a418e974fe2999d0dc7316d47613248cfe9a18d37479c3f97f577eca07f5367d",
    "class4/3.png": "e14f3da2b9ee3c5ed5f099cc49ab5f83aa5e6d96518c47f538348b698370cdaa",
    "class4/3_dress.jpeg": "ba908f50906729fece7ebe4581479a0c5b407530314734fdac977c3859c457c4",
    "class4/4.png": "c5af9a2dbd96e4b84a2e0c93bdc2a2f59d40fd54a4ffccde75aec2085d7f04ee",
    "class4/4_coat.jpeg": "4dea63b3677327a2b386c78d94b1fe2f4afbfe8a547e4499225290aedb230e5a",
    "class4/5.png": "bc35487efe9f2db4bf8045b5bef6d5e63a4c4ea637c5b4440637b583c25a0478",
    "class4/5_sandal.jpeg": "d5fc13d1d0ecab8332389fa63f1db98432ab9480928d721bec95c1e00de81552",
    "class4/6.png": "fb20006884d4f2e437abfeea60945b689b2ef76d51125b5e50d0267533730614",
    "class4/6_shirt.jpeg": "2f18c9f3820ba7ae8f0b5402ac045d281c86f821054e660bd0f0a77f11c738d4",
    "class4/7.png": "b8a318ab24f61f3e48bf5dbf4af2338f2f15a8630167ecf3a2b58fa8985d64d8",
    "class4/7_sneaker.jpeg": "00a816010a031caff2cbfe98560e6cf016debc34ec57a7408e664dd8e779d05c",
    "class4/8.png": "aa18291d5fcd2d083f099b4c52369ede8d5a6c9f975639eea54e7e2db45f3e85",
    "class4/8_bag.jpeg": "32a2ef9fd98ad92a697e98468e342952d4dff98f7b6947775b34eea312182e9f",
    "class4/9.png": "4bbe479ae2d805811c34f71bebdb7bffa58880e635f324540d1f7efcb8d2c16a",
    "class4/9_ankle_boot.jpeg": "3b7f1fb804182c54f21c3f5500b437c81771133b656404f058d67b79d72d600c",
}


def course_file(written: str) -> Path:
    """The file a program names (``'./SH600519.csv'``), from the harness's copy, held to its SHA-256."""
    shipped = {Path(key).name: key for key in COURSE_FILES}
    name = Path(written).name
    if name not in shipped:
        raise DatasetMissing(f"{written}: the harness ships {', '.join(shipped)} only")
    path = COURSE_DATA / shipped[name]
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "(missing)"
    if digest != COURSE_FILES[shipped[name]]:
        raise DatasetError(f"{path}: SHA-256 {digest}, the course's file has {COURSE_FILES[shipped[name]]}; "
                           "restore it from the repository (git checkout -- harness/data)")
    return path
