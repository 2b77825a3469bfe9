"""Every experiment, in the order of the note and then of the course, checked once as a whole.

The sections declare their experiments (``EXPERIMENTS``) and the numbers they print of
experiments declared elsewhere (``ALSO_PRINTED``: the course prints the note's MSE run
too). A declaration that cannot work fails here, at start-up, with the experiment's
name: a column no variable produces, an update rule naming an unknown variable, a mode
declared twice or unknown, a claim needing an experiment outside its run group.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Iterable
from types import ModuleType

from harness import modes
from harness.errors import DeclarationError, HarnessError, UnknownName
from harness.experiments.declare import Experiment, NotRunnable, with_printed

# Modules of the user's own, added to the catalogue after the note's and the course's
# (docs/adding-a-program.md): importable names, comma-separated.
SECTIONS_VARIABLE = "HARNESS_SECTIONS"


def _own_sections() -> list[ModuleType]:
    found = []
    for name in (n.strip() for n in os.environ.get(SECTIONS_VARIABLE, "").split(",")):
        if not name:
            continue
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise HarnessError(f"{SECTIONS_VARIABLE}: cannot import {name!r} ({exc}); name a module on the "
                               "Python path (PYTHONPATH), e.g. my_programs for my_programs.py") from None
        if not isinstance(getattr(module, "EXPERIMENTS", None), tuple):
            raise HarnessError(f"{SECTIONS_VARIABLE}: {name!r} ({module.__file__}) declares no EXPERIMENTS tuple")
        found.append(module)
    return found


def _sections() -> list[ModuleType]:
    from harness.experiments.course import (
        c1_2_design,
        c1_3_tensors,
        c1_4_functions,
        c1_6_iris,
        c2_1_preliminaries,
        c2_2_learning_rate,
        c2_4_loss_functions,
        c2_5_regularization,
        c2_6_optimizers,
        c3_keras_iris,
        c3_mnist,
        c4_extensions,
        c5_cnn,
        c6_rnn,
    )
    from harness.experiments.note import loss_functions, tensor_basics

    return [loss_functions, tensor_basics, c1_2_design, c1_3_tensors, c1_4_functions, c1_6_iris,
            c2_1_preliminaries, c2_2_learning_rate, c2_4_loss_functions, c2_5_regularization,
            c2_6_optimizers, c3_keras_iris, c3_mnist, c4_extensions, c5_cnn, c6_rnn, *_own_sections()]


def build(sections: Iterable[ModuleType]) -> dict[str, Experiment]:
    """The catalogue of the given section modules, validated."""
    found: dict[str, Experiment] = {}
    sections = list(sections)
    for module in sections:
        for experiment in module.EXPERIMENTS:
            if experiment.name in found:
                raise DeclarationError(experiment.name, f"is declared twice (again in {module.__name__})")
            found[experiment.name] = experiment
    for module in sections:
        for name, (printed, claims) in getattr(module, "ALSO_PRINTED", {}).items():
            if name not in found:
                raise DeclarationError(name, f"{module.__name__} adds printed numbers to it, but no "
                                             "section declares it")
            found[name] = with_printed(found[name], printed, claims)
    for experiment in found.values():
        validate(experiment, found)
    return found


def validate(experiment: Experiment, others: dict[str, Experiment]) -> None:
    problems = (experiment.training.problems() if experiment.training else
                experiment.fit.problems() if experiment.fit else [])
    declared = [d.mode for d in experiment.known_mode_differences]
    for mode in declared:
        if mode not in modes.others(experiment):
            problems.append(f"declares a difference for mode {mode!r}; modes that can differ from its "
                            f"reference ({modes.reference(experiment)}): {', '.join(modes.others(experiment))}")
    twice = sorted({m for m in declared if declared.count(m) > 1})
    if twice:
        problems.append(f"declares a difference for mode(s) {twice} twice")
    for claim in experiment.claims:
        for needed in claim.needs:
            if needed not in others:
                problems.append(f"its claim {claim.text!r} needs {needed!r}, which is not declared")
            elif others[needed].run_group != experiment.run_group:
                problems.append(f"its claim {claim.text!r} needs {needed!r}, which is in run group "
                                f"{others[needed].run_group!r}, not {experiment.run_group!r}")
    if experiment.trains_as and (experiment.trains_as not in others
                                 or others[experiment.trains_as].run_group != experiment.run_group):
        problems.append(f"trains as {experiment.trains_as!r}, which is not declared in its run group")
    names = [f"{p.source.cite}: {p.where}" for p in experiment.printed]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        problems.append(f"declares printed number(s) {twice} twice")
    if problems:
        raise DeclarationError(experiment.name, "; ".join(problems))


@functools.cache
def _catalog() -> dict[str, Experiment]:
    return build(_sections())


def all_experiments() -> list[Experiment]:
    """Every experiment, in the order of the note and then of the course."""
    return list(_catalog().values())


def not_runnable() -> list[NotRunnable]:
    """The course's programs listed but not run here, with why."""
    return [p for module in _sections() for p in getattr(module, "NOT_RUNNABLE", ())]


def training_experiments() -> list[Experiment]:
    """The experiments with a GradientTape loop (chapters 1 and 2)."""
    return [e for e in all_experiments() if e.training is not None]


def keras_experiments() -> list[Experiment]:
    """The experiments that train a Keras model with fit (chapters 3 to 6)."""
    return [e for e in all_experiments() if e.fit is not None]


def one_per_update_rule(experiments: list[Experiment]) -> list[Experiment]:
    """The first GradientTape loop of each update rule (SGD, momentum ... Adam), in catalogue order."""
    first: dict[str, Experiment] = {}
    for e in experiments:
        if e.training is not None:
            first.setdefault(e.training.update.name, e)
    return list(first.values())


def get(name: str) -> Experiment:
    try:
        return _catalog()[name]
    except KeyError:
        raise UnknownName("experiment", name, _catalog()) from None


def select(names: Iterable[str] | None) -> list[Experiment]:
    """The named experiments (all when none are named), failing on the first unknown name."""
    names = list(names or [])
    return [get(n) for n in names] if names else all_experiments()
