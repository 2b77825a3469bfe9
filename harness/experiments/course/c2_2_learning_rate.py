"""The course's 2.2 复杂度和学习率 (complexity and learning rate): gradient descent on
(w + 1)^2 with an exponentially decaying learning rate (p10_backpropagation_decaylr.py)."""

from __future__ import annotations

from itertools import pairwise

from harness.experiments import rules
from harness.experiments.course import section
from harness.experiments.course.c1_2_design import NO_REDUCTION, render_gradient_descent, square_loss, w_setup
from harness.experiments.declare import Claim, Experiment, Tolerance
from harness.experiments.printing import epoch_prints
from harness.experiments.training import LearningRate, StepLoss, Training, Weights, differing

SECTION = section("2.2", "复杂度和学习率 (complexity and learning rate)")

LR_BASE = 0.2  # 最初学习率
LR_DECAY = 0.99  # 学习率衰减率
LR_STEP = 1  # 喂入多少轮BATCH_SIZE后，更新一次学习率

# The course's 运行结果: w, loss and lr after each of the 40 epochs.
PRINTED = """\
2.600000 36.000000 0.200000|1.174400 12.959999 0.198000|0.321948 4.728015 0.196020|
-0.191126 1.747547 0.194060|-0.501926 0.654277 0.192119|-0.691392 0.248077 0.190198|
-0.807611 0.095239 0.188296|-0.879339 0.037014 0.186413|-0.923874 0.014559 0.184549|
-0.951691 0.005795 0.182703|-0.969167 0.002334 0.180876|-0.980209 0.000951 0.179068|
-0.987226 0.000392 0.177277|-0.991710 0.000163 0.175504|-0.994591 0.000069 0.173749|
-0.996452 0.000029 0.172012|-0.997660 0.000013 0.170292|-0.998449 0.000005 0.168589|
-0.998967 0.000002 0.166903|-0.999308 0.000001 0.165234|-0.999535 0.000000 0.163581|
-0.999685 0.000000 0.161946|-0.999786 0.000000 0.160326|-0.999854 0.000000 0.158723|
-0.999900 0.000000 0.157136|-0.999931 0.000000 0.155564|-0.999952 0.000000 0.154009|
-0.999967 0.000000 0.152469|-0.999977 0.000000 0.150944|-0.999984 0.000000 0.149434|
-0.999989 0.000000 0.147940|-0.999992 0.000000 0.146461|-0.999994 0.000000 0.144996|
-0.999996 0.000000 0.143546|-0.999997 0.000000 0.142111|-0.999998 0.000000 0.140690|
-0.999999 0.000000 0.139283|-0.999999 0.000000 0.137890|-0.999999 0.000000 0.136511|
-0.999999 0.000000 0.135146"""

LR_EXPONENTIAL_DECAY = Experiment(
    name="lr_exponential_decay",
    section=SECTION,
    summary="w = 5, loss = (w + 1)^2, 40 steps, lr = 0.2 * 0.99 ** epoch (p10)",
    training=Training(w_setup, {"w": ()}, square_loss, rules.sgd("w"),
                      rules.exponential_decay(LR_BASE, LR_DECAY, LR_STEP), 40,
                      prints=(Weights("w"), StepLoss(), LearningRate()),
                      known_mode_differences=differing(
                          "XLA's compiled step rounds w - lr * grads otherwise once the lr changes "
                          "from epoch to epoch (gradient_descent, with a constant lr, is "
                          "bit-identical under XLA); the cause inside XLA is not isolated",
                          xla=(3, 5), fused_xla=(3, 5))),
    tolerance=Tolerance(0, NO_REDUCTION),
    printed=epoch_prints(SECTION, PRINTED, ("w", "loss", "lr")),
    claims=(Claim("the learning rate decays: each epoch's is smaller than the one before",
                  lambda r: all(b < a for a, b in pairwise(r.columns["lr"])), SECTION),
            Claim("w approaches -1, the minimum of (w + 1)^2",
                  lambda r: abs(r.last("w") + 1) < 1e-5, SECTION)),
    render=lambda record: render_gradient_descent(record, with_lr=True),
)

EXPERIMENTS = (LR_EXPONENTIAL_DECAY,)
