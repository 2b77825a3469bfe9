"""Errors a user can act on: each names the thing that is wrong and the fix."""

from __future__ import annotations

from collections.abc import Iterable


class HarnessError(Exception):
    """Base of the errors the CLI turns into a message and a non-zero exit."""


class UsageError(HarnessError):
    """A command line that cannot be carried out as given (exit 2, like argparse's own errors)."""


class UnknownName(UsageError, ValueError):
    """A name (experiment, device) that does not exist; the message lists the valid ones."""

    def __init__(self, what: str, name: str, valid: Iterable[str]) -> None:
        self.what, self.name, self.valid = what, name, sorted(valid)
        choices = ", ".join(self.valid) or "(none)"
        super().__init__(f"unknown {what} {name!r}; valid {what}s: {choices}")


class DeclarationError(HarnessError):
    """An experiment whose declaration cannot work; raised when the catalogue is built."""

    def __init__(self, experiment: str, problem: str) -> None:
        self.experiment, self.problem = experiment, problem
        super().__init__(f"experiment {experiment!r} {problem}")


class GoldenError(HarnessError):
    """A golden or manifest that cannot be used as it is on disk."""

    def __init__(self, path: object, problem: str, fix: str | None = None, also: tuple[object, ...] = ()) -> None:
        # ``also``: the other files of a disagreement, one of which is damaged (named in ``problem``).
        self.path, self.problem, self.also = path, problem, also
        fix = fix or (f"restore it with `git checkout -- {path}`, or, if the change is intended, "
                      f"regenerate the goldens with `tox -e regen` and review the diff")
        super().__init__(f"golden file {path}: {problem}\n  fix: {fix}")


class DatasetMissing(HarnessError):
    """A dataset neither in Keras's cache nor in the folder named: its experiments skip, saying why."""


class CourseMissing(HarnessError):
    """The course's published files not here (no folder named, or a file missing): what proves a
    declaration against its file skips, saying how to get them."""


class DatasetError(HarnessError):
    """A copy of a dataset whose arrays are not the published ones (an input that cannot be used)."""


class GoldenMissing(GoldenError):
    """A golden that was never written (or was deleted)."""

    def __init__(self, path: object) -> None:
        self.path, self.problem = path, "does not exist"
        HarnessError.__init__(
            self,
            f"golden file {path} does not exist\n"
            f"  fix: write it on purpose with `tox -e regen` (or `python -m harness regen NAME`), "
            f"review it and commit it",
        )


# The exit status of a bug in the harness itself: neither a result (0, 1) nor an input that
# cannot be used (2), and printed with its traceback.
INTERNAL_ERROR = 3
# Where the programs' own lines are, as the note and the course write them (and their declarations).
PROGRAMS = "/harness/experiments/"


class ProgramError(HarnessError):
    """An experiment's program raised where it ran before: under another TensorFlow an API can
    change, and the matrix reports it as that experiment's error instead of stopping the release."""

    @staticmethod
    def raised_by_program(exc: BaseException) -> bool:
        """Whether the innermost line of the harness that was running is a program's own
        (harness/experiments/): the error is then the program's, else the harness's bug."""
        import traceback

        frames = [f.filename.replace("\\", "/") for f in traceback.extract_tb(exc.__traceback__)]
        own = [f for f in frames if "/harness/" in f]
        return bool(own) and PROGRAMS in own[-1]

    @classmethod
    def of(cls, experiment: str, exc: BaseException) -> ProgramError:
        import traceback

        # The innermost line of the harness (the program as written), else the innermost of all.
        frames = traceback.extract_tb(exc.__traceback__)
        own = [f for f in frames if "/harness/" in f.filename.replace("\\", "/")] or frames
        where = f" at {own[-1].filename}:{own[-1].lineno}" if own else ""
        text = str(exc).strip().splitlines()
        return cls(f"{experiment} raised {type(exc).__name__}{where}: {text[-1] if text else ''}")
