"""The course's published program files: which files each Keras experiment declares, the SHA-256
each is pinned to, and whether a line a declaration quotes (``Line.written``) is its file's code.

The files are not copied into this repository: they are read from the folder the user names in
``HARNESS_COURSE`` (the course's ``code`` folder, holding ``class1`` .. ``class6``), each checked
against its pin (``harness/data/course.sha256``, in ``sha256sum`` format: ``cd "$HARNESS_COURSE" &&
sha256sum -c .../course.sha256`` checks a copy by hand). Without the folder what needs it skips,
saying how to get it.

A quoted line is the file's code when its tokens occur in the file's, in order, once the file's
names bound to one string (``checkpoint_save_path = "./checkpoint/mnist.ckpt"``) are read as that
string: a declaration writes a call on one line, with the path it is given, where the file breaks
the call over lines and names the path. Nothing else is forgiven: a character changed in a name, a
number or a string is not the file's code.

TensorFlow-free.
"""

from __future__ import annotations

import ast
import hashlib
import io
import os
import tokenize
from functools import cache
from pathlib import Path

from harness.errors import CourseMissing, HarnessError

VARIABLE = "HARNESS_COURSE"
PINS = Path(__file__).resolve().parents[1] / "data" / "course.sha256"
HOW = (f"name the course's code folder (the one holding class1 .. class6, as published with the course) in "
       f"{VARIABLE}")

# The published files each Keras experiment runs the code of, under the course's code folder.
FILES: dict[str, tuple[str, ...]] = {
    "keras_iris_sequential": ("class3/p8_iris_sequential.py",),
    "keras_iris_class": ("class3/p11_iris_class.py",),
    "mnist_sequential": ("class3/p14_mnist_sequential.py",),
    "mnist_class": ("class3/p15_mnist_class.py",),
    "fashion_sequential": ("class3/p16_fashion_sequential.py",),
    "fashion_class": ("class3/p16_fashion_class.py",),
    **{f"{p}_{program}": (f"class4/{p.upper()}_FC/{file}_{p}_{program}.py",)
       for p in ("mnist", "fashion")
       for file, program in (("p4", "train_baseline"), ("p13", "train_ex2"), ("p16", "train_ex3"),
                             ("p19", "train_ex4"), ("p23", "train_ex5"))},
    # An application trains as p16 does (its checkpoint), then runs the application's file.
    "mnist_app": ("class4/MNIST_FC/p16_mnist_train_ex3.py", "class4/MNIST_FC/p27_mnist_app.py"),
    "mnist_app_contrast": ("class4/MNIST_FC/p16_mnist_train_ex3.py", "class4/MNIST_FC/p28_mnist_app.py"),
    "fashion_app": ("class4/FASHION_FC/p16_fashion_train_ex3.py", "class4/FASHION_FC/p27_fashion_app.py"),
    **{f"{d.lower()}_{net}": (f"class5/{d}_CNN/{file}_{d.lower()}_{stem}.py",)
       for d in ("FASHION", "CIFAR10")
       for net, file, stem in (("cnn_baseline", "p27", "baseline"), ("lenet5", "P31", "lenet5"),
                               ("alexnet8", "p34", "alexnet8"), ("vgg16", "p36", "vgg16"),
                               ("inception10", "p40", "inception10"), ("resnet18", "p46", "resnet18"))},
    "rnn_onehot_1pre1": ("class6/p15_rnn_onehot_1pre1.py",),
    "rnn_onehot_4pre1": ("class6/p21_rnn_onehot_4pre1.py",),
    "rnn_embedding_1pre1": ("class6/p27_rnn_embedding_1pre1.py",),
    "rnn_embedding_4pre1": ("class6/p32_rnn_embedding_4pre1.py",),
    "rnn_stock": ("class6/p38_rnn_stock.py",),
    "lstm_stock": ("class6/p47_LSTM_stock.py",),
    "gru_stock": ("class6/p56_GRU_stock.py",),
}
# Keras experiments with no published file of their own, and why.
UNPUBLISHED = {
    "cifar10_inception10_text": "the text's listing of Inception10 (batch_size=1024), which no published file holds",
}


def folder() -> Path | None:
    """The course's code folder the user named, or None."""
    named = os.environ.get(VARIABLE)
    return Path(named) if named else None


@cache
def pins() -> dict[str, str]:
    """Each published file's pinned SHA-256, by its path under the course's code folder."""
    found: dict[str, str] = {}
    for number, line in enumerate(PINS.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        digest, _, path = line.partition("  ")
        if len(digest) != 64 or not path or path in found:
            raise HarnessError(f"{PINS}:{number}: not '<sha256>  <path>' (or a path pinned twice): {line!r}")
        found[path] = digest
    return found


def read(path: str) -> str:
    """A published file's text, as pinned; CourseMissing where the folder is not named or lacks it."""
    pinned = pins().get(path)
    if pinned is None:
        raise HarnessError(f"{path} is not a pinned course file ({PINS})")
    where = folder()
    if where is None:
        raise CourseMissing(f"the course's published files are not here: {HOW}")
    file = where / path
    if not file.is_file():
        raise CourseMissing(f"{file} does not exist: {HOW}")
    data = file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != pinned:
        raise HarnessError(f"{file} is not the published file: its SHA-256 is {digest}, the pin {pinned} "
                           f"({PINS}); {HOW}")
    return data.decode("utf-8")


def _tokens(source: str) -> list[tuple[str, int, int]]:
    """The code's tokens without layout and comments (a string as the value it writes), each with
    where it starts and ends in ``source``."""
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    found = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT,
                          tokenize.ENDMARKER):
            continue
        text = repr(ast.literal_eval(token.string)) if token.type == tokenize.STRING else token.string
        found.append((text, starts[token.start[0] - 1] + token.start[1], starts[token.end[0] - 1] + token.end[1]))
    return found


def _named_strings(source: str) -> dict[str, str]:
    """The file's names bound once, at its top level, to a string: their tokens."""
    bound: dict[str, list[str]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    value = node.value
                    bound.setdefault(target.id, []).append(
                        repr(value.value) if isinstance(value, ast.Constant) and isinstance(value.value, str) else "")
    return {name: values[0] for name, values in bound.items() if len(values) == 1 and values[0]}


@cache
def _code(source: str) -> list[tuple[str, int, int]]:
    """A file's tokens with its names bound to one string read as that string (once per file)."""
    named = _named_strings(source)
    return [(named.get(t, t), start, end) for t, start, end in _tokens(source)]


def where(source: str, written: str) -> tuple[int, int] | None:
    """Where ``written`` is code of ``source`` (its first place), up to layout and the names bound
    to one string; None where it is not."""
    code = _code(source)
    wanted = [t for t, _, _ in _tokens(written)]
    for i in range(len(code) - len(wanted) + 1):
        if [t for t, _, _ in code[i:i + len(wanted)]] == wanted:
            return code[i][1], code[i + len(wanted) - 1][2]
    return None


def quotes(source: str, written: str) -> bool:
    """Whether ``written`` is code of ``source``, up to layout and the names bound to one string."""
    return where(source, written) is not None
