"""argparse front end: one module per verb, each with ``add_parser`` and ``run``.

Verb modules import only argparse at the top; their heavy imports happen in
``run`` so ``python -m harness list`` stays light (no torch).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any, NoReturn

__all__ = [
    "EXIT_ERROR",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_TERMINATED",
    "build_parser",
    "main",
]

#: the command ran but its outcome failed: no cell of a run succeeded, a regression
EXIT_FAILED = 1
#: bad arguments, an unknown name, an unusable store or file: one ``error: ...`` line
EXIT_ERROR = 2
#: stopped by Ctrl-C (SIGINT) or SIGTERM, 128 + the signal number; finished cells are stored
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM

EXIT_CODES = (
    "exit codes: 0 success; 1 the command ran but failed its check (run: no cell "
    "succeeded; compare: a regression); 2 bad arguments or an unusable store or file; "
    "130 interrupted by Ctrl-C, 143 stopped by SIGTERM (a run's finished cells are kept: "
    "continue it with 'run --resume')"
)

#: verb -> module holding ``add_parser(subparsers, common)`` and ``run(args) -> int``
VERBS = {
    "list": "harness.cli.listing",
    "run": "harness.cli.run",
    "runs": "harness.cli.runs",
    "export": "harness.cli.export",
    "report": "harness.cli.report",
    "compare": "harness.cli.compare",
    "info": "harness.cli.info",
    "tasks": "harness.cli.task_sets",
}


_DEBUG_HELP = "show full tracebacks instead of one-line errors"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one ``error:`` line (exit 2) that
    says where the help is, like every other error here; verbs' parsers are made
    from it too (``add_subparsers`` uses the parent's class)."""

    def error(self, message: str) -> NoReturn:
        text = " ".join(message.split())
        self.exit(EXIT_ERROR, f"error: {text} (see '{self.prog} --help')\n")

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        parsed, extra = super().parse_known_args(args, namespace)
        # the innermost (verb's) parser finishes first: unknown arguments name its help
        if not hasattr(parsed, "verb_parser"):
            parsed.verb_parser = self
        return parsed, extra


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a verb without --debug keeps the value of a --debug given before the verb
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
    return common


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m harness`` parser with every verb."""
    from harness import __version__

    parser = _Parser(
        prog="python -m harness",
        description="Benchmark mutual-information estimators on tasks with known ground truth.",
        epilog=EXIT_CODES,
    )
    parser.add_argument("--version", action="version", version=f"mi-harness {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True
    common = _common()
    for module in VERBS.values():
        _load(module).add_parser(sub, common)
    return parser


def _load(module: str) -> ModuleType:
    return importlib.import_module(module)


def _known_errors() -> tuple[type[BaseException], ...]:
    from harness.interface import InputError, SpecError
    from results.export import ExportFileError
    from results.store import StoreError

    return (SpecError, InputError, StoreError, ExportFileError, FileNotFoundError, PermissionError)


@contextmanager
def plugin_warnings_as_lines() -> Iterator[None]:
    """Within, a :class:`~harness.registry.PluginWarning` prints as one
    ``warning: <message>`` line (beside the ``error: ...`` lines); every other
    warning keeps the format it had. For the command's whole run, so no other
    thread sees the format change midway."""
    previous = warnings.formatwarning

    def one_line(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        line: str | None = None,
    ) -> str:
        from harness.registry import PluginWarning

        if isinstance(category, type) and issubclass(category, PluginWarning):
            return f"warning: {' '.join(str(message).split())}\n"
        return previous(message, category, filename, lineno, line)

    warnings.formatwarning = one_line
    try:
        yield
    finally:
        warnings.formatwarning = previous


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the verb; return its exit code.

    Errors become one ``error: ...`` line on stderr and exit code
    :data:`EXIT_ERROR` (2); with ``--debug`` (before or after the verb) they
    raise with the full traceback instead. See :data:`EXIT_CODES`. Plugin
    warnings print as one line (:func:`plugin_warnings_as_lines`).
    """
    with plugin_warnings_as_lines():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args, extra = parser.parse_known_args(argv)
    if extra:
        args.verb_parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.argv = ["python", "-m", "harness", *argv]  # the command a run records
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into head & co.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"interrupted{getattr(args, 'interrupt_hint', '')}", file=sys.stderr)
        # a verb that turns SIGTERM into KeyboardInterrupt records it in args.stop_signal
        return 128 + int(getattr(args, "stop_signal", signal.SIGINT))
    except Exception as exc:
        if args.debug:
            raise
        if isinstance(exc, _known_errors()):
            text = str(exc)
        elif isinstance(exc, MemoryError):
            text = f"out of memory{f' ({exc})' if str(exc) else ''}; a smaller task grid, n or "
            text += "batch may fit (rerun with --debug for the traceback)"
        else:
            text = f"{type(exc).__name__}: {exc} (rerun with --debug for the traceback)"
        print(f"error: {' '.join(text.split())}", file=sys.stderr)
        return EXIT_ERROR
