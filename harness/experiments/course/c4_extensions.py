"""The course's chapter 4, 神经网络八股拓展 (what users do around ``fit``), for MNIST (``class4/MNIST_FC``)
and Fashion-MNIST (``class4/FASHION_FC``): the baseline (p4, chapter 3's p14 and p16 again), the
augmented training with ``ImageDataGenerator`` (p13) and the augmented images it shows (p11),
checkpoint save and resume (p16: the program run twice in one folder), parameter extraction to
``weights.txt`` (p19), the acc/loss curves (p23; ``python -m harness figures`` draws them from
the golden) and the application programs (p27, p28: the trained model names the course's own
images, their ``input()`` answered with each image in turn).

Lines that raise on today's libraries run as written first and adapted where they raised
(``Line``; the record's ``as_written`` says what each did):

- ``ModelCheckpoint(filepath='./checkpoint/mnist.ckpt', ...)`` and ``model.load_weights('./checkpoint/
  mnist.ckpt')``: Keras 3 reads and writes weights only as ``*.weights.h5``, and loads them only
  into a built model (the adapted line builds the program's Sequential for 28x28 input first);
- ``os.path.exists(checkpoint_save_path + '.index')``: runs, but Keras 3 writes no ``.index`` file,
  so with the file name alone adapted the second run would not resume: adapted too, and what the
  line as written gave is recorded (``misleads``);
- ``img.resize((28, 28), Image.ANTIALIAS)``: Pillow 10 removed the alias of ``Image.LANCZOS``;
- ``type[int(pred)]`` (the Fashion application): NumPy 2 converts only 0-dimensional arrays.

The programs set no seed: the harness's fixed random state makes each run one draw, the same
every time. The text prints nothing of chapter 4's runs (ch3-6.md, 436-1030). The two
``*_train_ex1`` programs (p8) read the course's own JPEG folders, not published with the code
(``NOT_RUNNABLE``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from PIL import Image  # type: ignore[import-not-found]
from tensorflow.keras.preprocessing.image import ImageDataGenerator

from harness.experiments.course import section
from harness.experiments.course.c3_keras_iris import LOSS_FALLS, UNMEASURED
from harness.experiments.course.c3_mnist import adam_compile, fashion_data, mnist_data, same_training, sequential
from harness.experiments.datasets import course_file, load_data
from harness.experiments.declare import Claim, Experiment, NotRunnable, Outcome, Section
from harness.experiments.keras import Fit, Line, LineValue, xla_drift
from harness.experiments.training import ModeDifference
from harness.record import Record

OWN_DATA = section("4.1", "自制数据集 (own data: the course's JPEG folders)")
AUGMENT = section("4.2", "数据增强 (augmentation, ImageDataGenerator)")
RESUME = section("4.3", "断点续训 (checkpoint save and resume)")
EXTRACT = section("4.4", "参数提取 (parameter extraction to weights.txt)")
CURVES = section("4.5", "acc/loss可视化 (the accuracy and loss curves)")
APPLY = section("4.6", "应用程序 (applying the model to the course's images)")

KERAS3_WEIGHTS = "Keras 3 reads and writes weights only as *.weights.h5 (or a whole model as *.keras)"


def checkpoint_path(name: str) -> Line:
    """``checkpoint_save_path = "./checkpoint/mnist.ckpt"``, as ``ModelCheckpoint`` takes it."""
    written = (f"tf.keras.callbacks.ModelCheckpoint(filepath='./checkpoint/{name}.ckpt', save_weights_only=True, "
               "save_best_only=True)")
    return Line(written, written.replace(".ckpt'", ".weights.h5'"), KERAS3_WEIGHTS)


def saved_file(name: str) -> str:
    return f"./checkpoint/{name}.weights.h5"


def exists_line(name: str) -> Line:
    return Line(f"os.path.exists('./checkpoint/{name}.ckpt' + '.index')",
                f"os.path.exists('{saved_file(name)}')",
                "Keras 3 writes one file, *.weights.h5, and no .index beside it: the line as written finds "
                "nothing, and the second run would start afresh", misleads=True)


def load_line(name: str) -> Line:
    return Line(f"model.load_weights('./checkpoint/{name}.ckpt')",
                f"(model.build((None, 28, 28)), model.load_weights('{saved_file(name)}'))",
                f"{KERAS3_WEIGHTS}, and loads them only into a built model (Keras 2 restored them when the model "
                "was first called): the program's Sequential names no input shape, so it is built first")


ANTIALIAS = Line("img.resize((28, 28), Image.ANTIALIAS)", "img.resize((28, 28), Image.LANCZOS)",
                 "Pillow 10 removed Image.ANTIALIAS, the old name of Image.LANCZOS")
TYPE_PRED = Line("type[int(pred)]", "type[int(pred[0])]",
                 "NumPy 2 converts only 0-dimensional arrays to Python scalars; tf.argmax gives shape (1,)")


def loading(name: str) -> Any:
    """The program's lines between compile and fit: load the checkpoint if there is one."""
    def before(model: Any, line: LineValue) -> dict[str, Any]:
        found = bool(line(exists_line(name), os=os))
        if found:
            line(load_line(name), model=model)
        return {"loaded": found}

    return before


def checkpointing(name: str) -> Any:
    return lambda line: [line(checkpoint_path(name))]


def written_file(path: str) -> dict[str, Any]:
    """What a program wrote to a text file: its size and SHA-256, and its lines that are not numbers
    (``weights.txt``: each variable's name and shape; its values are the golden's digests)."""
    data = Path(path).read_bytes()
    heads = [line for line in data.decode("utf-8").splitlines()
             if line and not line.lstrip(" [").startswith(("-", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "."))]
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "names_and_shapes": heads}


def weights_txt(model: Any, line: LineValue) -> dict[str, Any]:
    """p19's last lines (``print(model.trainable_variables)`` left out: the file holds the same)."""
    with np.printoptions(threshold=np.inf):  # type: ignore[arg-type]  # the program's np.set_printoptions(threshold=np.inf)
        file = open('./weights.txt', 'w')  # noqa: SIM115 - as the course writes it
        for v in model.trainable_variables:
            file.write(str(v.name) + '\n')
            file.write(str(v.shape) + '\n')
            file.write(str(v.numpy()) + '\n')
        file.close()
    return {"weights.txt": written_file('./weights.txt')}


# ---- augmentation -------------------------------------------------------------------------

def augmented(module: Any, horizontal_flip: bool) -> Any:
    """p13's data lines: the generator ``fit`` draws its batches from."""
    def data() -> tuple[Any, ...]:
        (x_train, y_train), (x_test, y_test) = load_data(module)
        x_train, x_test = x_train / 255.0, x_test / 255.0
        x_train = x_train.reshape(x_train.shape[0], 28, 28, 1)  # 给数据增加一个维度
        image_gen_train = ImageDataGenerator(
            rescale=1. / 1.,  # 如为图像，分母为255时，可归至0～1
            rotation_range=45,  # 随机45度旋转
            width_shift_range=.15,  # 宽度偏移
            height_shift_range=.15,  # 高度偏移
            horizontal_flip=horizontal_flip,  # 水平翻转
            zoom_range=0.5  # 将图像随机缩放阈量50％
        )
        image_gen_train.fit(x_train)
        return image_gen_train.flow(x_train, y_train, batch_size=32), None, (x_test, y_test)

    return data


def show_augmented(module: Any, horizontal_flip: bool) -> Any:
    """p11: the first 12 training images, and the same 12 as the generator transforms them (the
    program draws both rows; the record holds each image's sum and the batch's SHA-256, and
    ``python -m harness figures`` draws the rows again from a run held to them)."""
    def program() -> Outcome:
        images, augmented_images = augmented_rows(module, horizontal_flip)
        return Outcome({}, {"original sums": [round(float(x.sum()), 4) for x in images],
                            "augmented sums": [round(float(x.sum()), 4) for x in augmented_images],
                            "augmented sha256": hashlib.sha256(augmented_images.tobytes()).hexdigest()}, "")

    return program


def augmented_rows(module: Any, horizontal_flip: bool) -> tuple[Any, Any]:
    (x_train, y_train), (x_test, y_test) = load_data(module)  # noqa: RUF059 - as the course writes it
    x_train = x_train.reshape(x_train.shape[0], 28, 28, 1)
    image_gen_train = ImageDataGenerator(
        rescale=1. / 255,
        rotation_range=45,
        width_shift_range=.15,
        height_shift_range=.15,
        horizontal_flip=horizontal_flip,
        zoom_range=0.5
    )
    image_gen_train.fit(x_train)
    x_train_subset1 = np.squeeze(x_train[:12])
    x_train_subset2 = x_train[:12]  # 一次显示12张图片
    for x_batch in image_gen_train.flow(x_train_subset2, batch_size=12, shuffle=False):
        return x_train_subset1, np.squeeze(x_batch)
    raise AssertionError("the generator gave no batch")


# ---- application --------------------------------------------------------------------------

DIGITS = [f"{i}.png" for i in range(10)]
CLOTHES = ["0_t-shirt.jpeg", "1_trouser.jpeg", "2_pullover.jpeg", "3_dress.jpeg", "4_coat.jpeg", "5_sandal.jpeg",
           "6_shirt.jpeg", "7_sneaker.jpeg", "8_bag.jpeg", "9_ankle_boot.jpeg"]
type_ = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']


def _inverted(img_arr: Any) -> Any:
    return 255 - img_arr  # p27: 每个像素点= 255 - 各自点当前灰度值


def _high_contrast(img_arr: Any) -> Any:
    for i in range(28):  # p28: 将输入图片变为只有黑色和白色的高对比图片
        for j in range(28):
            if img_arr[i][j] < 200:
                img_arr[i][j] = 255
            else:
                img_arr[i][j] = 0
    return img_arr


def application(name: str, images: list[str], prepare: Any, labels: list[str] | None = None) -> Any:
    """The application program after the training program saved its checkpoint: a model built as
    it writes it, the checkpoint loaded, and its ``input()`` answered: the number of pictures, then
    each picture's path. What it prints per picture is recorded."""
    def after(trained: Any, line: LineValue) -> dict[str, Any]:
        model = tf.keras.models.Sequential([
            tf.keras.layers.Flatten(),
            tf.keras.layers.Dense(128, activation='relu'),
            tf.keras.layers.Dense(10, activation='softmax')])
        line(load_line(name), model=model)
        printed = []
        for image_path in (str(course_file(image)) for image in images):
            img = Image.open(image_path)
            img = line(ANTIALIAS, img=img, Image=Image)
            img_arr = np.array(img.convert('L'))
            img_arr = prepare(img_arr)
            img_arr = img_arr / 255.0
            x_predict = img_arr[tf.newaxis, ...]
            result = model.predict(x_predict, verbose=0)
            pred = tf.argmax(result, axis=1)
            printed.append(str(line(TYPE_PRED, type=labels, pred=pred)) if labels else str(pred.numpy().tolist()))
        return {"predictions": dict(zip(images, printed, strict=True))}

    return after


def _right(r: Record, labels: list[str] | None) -> int:
    """How many pictures the program names as the file name says (``3.png`` is a 3)."""
    named = r.scalars["predictions"]
    truth = {image: int(image.split(".")[0].split("_")[0]) for image in named}
    return sum((labels[truth[i]] if labels else f"[{truth[i]}]") == got for i, got in named.items())


def names_most(labels: list[str] | None = None) -> Claim:
    return Claim("it names most of the ten pictures right (more than five), as the course's demonstration shows it "
                 "working", lambda r: _right(r, labels) > 5, APPLY)


CONTRAST_HELPS = Claim("p28's high-contrast picture (pixels below 200 black, the rest white) names at least as many "
                       "digits right as p27's inverted one: why the course changed the program",
                       lambda r, p27: _right(r, None) >= _right(p27, None), APPLY, needs=("mnist_app",))


# ---- declarations -------------------------------------------------------------------------

def dense_fit(data: Any, measured: tuple[ModeDifference, ...], name: str = "", runs: int = 1,
              after: Any = None, after_scalars: tuple[str, ...] = (), steps: int = 1875,
              seconds: float = 12.0, batch_size: int | None = 32) -> Fit:
    """p4 .. p23's network and fit, with the checkpoint of ``name`` where the program saves one."""
    fit = dict(epochs=5, validation_freq=1) if batch_size is None else dict(batch_size=32, epochs=5,
                                                                            validation_freq=1)
    return Fit(data, sequential, adam_compile, fit, ("loss", "sparse_categorical_accuracy"),
               {"dense_kernel": (784, 128), "dense_bias": (128,), "dense_1_kernel": (128, 10), "dense_1_bias": (10,)},
               (checkpoint_path(name), exists_line(name), load_line(name)) if name else (),
               steps_per_epoch=steps, prefix=200, batch_every=100, seconds=seconds * runs,
               callbacks=checkpointing(name) if name else None, before=loading(name) if name else None,
               runs=runs, after=after, after_scalars=after_scalars, known_mode_differences=measured)


def _resumed(r: Record) -> bool:
    started = r.scalars["started"]
    best = min(zip(r.validation["val_loss"][:5], r.validation["epoch"][:5], strict=True))[1]
    return (not started[0]["loaded"] and started[1]["loaded"] and started[1]["weights_of_epoch"] == best)


RESUMES = Claim("the second run loads the first's checkpoint: it starts from the weights of the first run's "
                "best epoch (lowest val_loss, save_best_only), bit for bit", _resumed, RESUME)
# What a resumed run does not carry: the .weights.h5 file holds Adam's variables too (10: its
# iterations, learning rate and two moments per weight), but load_weights skips them for an
# optimizer not yet built ("Skipping variable loading for optimizer 'adam'"), as the resumed
# program's is when it loads.
FRESH_OPTIMIZER = Claim("the resumed run's Adam starts afresh (iterations 0: Keras 3 skips the optimizer state the "
                        "weights file holds, the program's optimizer not being built yet), so the resumed run does "
                        "not continue the first bit for bit",
                        lambda r: r.scalars["started"][1]["optimizer_iterations"] == 0, RESUME)


def chapter4(prefix: str, module: Any, data: Any, saved_as: str, flip: bool, ch3: str,
             measured: tuple[ModeDifference, ...], apps: tuple[Experiment, ...],
             augmented_xla: tuple[ModeDifference, ...], resumed_xla: tuple[ModeDifference, ...]
             ) -> tuple[Experiment, ...]:
    """The programs of one folder (MNIST_FC or FASHION_FC), as they differ only in their data."""
    p = prefix
    return (
        Experiment(name=f"{p}_train_baseline", section=AUGMENT,
                   summary=f"p4_{p}_train_baseline: chapter 3's Sequential network and fit, the baseline of 4.2-4.6",
                   fit=dense_fit(data, measured), tolerance=UNMEASURED, group="mnist", trains_as=ch3,
                   claims=(LOSS_FALLS, same_training(ch3))),
        Experiment(name=f"{p}_show_augmented", section=AUGMENT,
                   summary=f"p11: 12 training images and the same 12 as ImageDataGenerator transforms them"
                           f"{' (horizontal_flip=True)' if flip else ''}",
                   fn=show_augmented(module, flip), on_device=False),
        Experiment(name=f"{p}_train_ex2", section=AUGMENT,
                   summary="p13: the baseline trained on ImageDataGenerator.flow (rotation 45, shifts .15, zoom .5"
                           f"{', horizontal flips' if flip else ''}), 5 epochs",
                   fit=dense_fit(augmented(module, flip), augmented_xla, seconds=45.0, batch_size=None),
                   tolerance=UNMEASURED, claims=(LOSS_FALLS,)),
        Experiment(name=f"{p}_train_ex3", section=RESUME,
                   summary=f"p16: saves ./checkpoint/{saved_as}.ckpt each better epoch; run twice, the second "
                           "resuming from the first's checkpoint (epochs 1-5, then 6-10)",
                   fit=dense_fit(data, resumed_xla, saved_as, runs=2), tolerance=UNMEASURED, group="mnist",
                   trains_as=ch3, claims=(same_training(ch3), RESUMES, FRESH_OPTIMIZER)),
        Experiment(name=f"{p}_train_ex4", section=EXTRACT,
                   summary="p19: p16 once, then every trainable variable written to weights.txt",
                   fit=dense_fit(data, measured, saved_as, after=weights_txt, after_scalars=("weights.txt",)),
                   tolerance=UNMEASURED, group="mnist", trains_as=ch3, claims=(same_training(ch3),)),
        Experiment(name=f"{p}_train_ex5", section=CURVES,
                   summary="p23: p19, and the accuracy and loss curves of history (python -m harness figures)",
                   fit=dense_fit(data, measured, saved_as, after=weights_txt, after_scalars=("weights.txt",)),
                   tolerance=UNMEASURED, group="mnist", trains_as=ch3, claims=(same_training(ch3),)),
        *apps,
    )


def app(name: str, program: str, data: Any, saved_as: str, images: list[str], prepare: Any,
        measured: tuple[ModeDifference, ...], ch3: str, claims: tuple[Claim, ...],
        labels: list[str] | None = None) -> Experiment:
    return Experiment(
        name=name, section=APPLY,
        summary=f"{program}: p16 trains and saves its checkpoint; the application loads it and names the ten "
                "pictures (its input() answered: 10, then each path)",
        fit=dense_fit(data, measured, saved_as, after=application(saved_as, images, prepare, labels),
                      after_scalars=("predictions",)),
        tolerance=UNMEASURED, group="mnist", trains_as=ch3, claims=(same_training(ch3), *claims))


# The programs whose training is chapter 3's (trains_as, a claim of their whole runs) declare its
# measured XLA difference; the augmented (p13) and resumed (p16, ten epochs) ones, their own
# (python -m harness check --mode xla NAME, and fused_xla: the same, on TF 2.21).
MNIST_XLA = xla_drift(1, 1984700466)
FASHION_XLA = xla_drift(1, 2038521034)

EXPERIMENTS = (
    *chapter4("mnist", tf.keras.datasets.mnist, mnist_data, "mnist", False, "mnist_sequential", MNIST_XLA, (
        # p27 names 3 of the 10 digits here (2, 3, 6): its inverted photo keeps the paper's grey.
        app("mnist_app", "p27_mnist_app", mnist_data, "mnist", DIGITS, _inverted, MNIST_XLA, "mnist_sequential", ()),
        app("mnist_app_contrast", "p28_mnist_app", mnist_data, "mnist", DIGITS, _high_contrast, MNIST_XLA,
            "mnist_sequential", (names_most(), CONTRAST_HELPS)),
    ), xla_drift(1, 2041383895), xla_drift(1, 2019932057)),
    *chapter4("fashion", tf.keras.datasets.fashion_mnist, fashion_data, "fashion", True, "fashion_sequential",
              FASHION_XLA, (
                  app("fashion_app", "p27_fashion_app", fashion_data, "fashion", CLOTHES, _inverted, FASHION_XLA,
                      "fashion_sequential", (names_most(type_),), type_),
              ), xla_drift(1, 2048431850), xla_drift(1, 2078107818)),
)

_OWN = ("reads the course's own JPEG folders ({0}_image_label/{0}_train_jpg_60000/ and the .txt label lists), "
        "which are not published with its code; the network and fit are p4's ({0}_train_baseline)")
# The two _ex application programs add only the picture's display to another's lines.
_SHOWN = "the same predictions as {0} (its lines), with each picture shown for a second (plt.pause(1))"

NOT_RUNNABLE = (
    NotRunnable("mnist_train_ex1", OWN_DATA, "p8_mnist_train_ex1: the baseline on MNIST made from JPEG files",
                _OWN.format("mnist")),
    NotRunnable("fashion_train_ex1", OWN_DATA, "P8_fashion_train_ex1: the baseline on Fashion-MNIST JPEG files",
                _OWN.format("fashion")),
    NotRunnable("mnist_app_ex", APPLY, "p28_mnist_app_ex: p28_mnist_app showing each picture",
                _SHOWN.format("mnist_app_contrast"), "not run separately"),
    NotRunnable("fashion_app_ex", APPLY, "p27_fashion_app_ex: p27_fashion_app showing each picture",
                _SHOWN.format("fashion_app"), "not run separately"),
)

__all__ = ["EXPERIMENTS", "NOT_RUNNABLE", "Section"]
