"""argparse front end: one module per verb, each with ``add_parser`` and ``run``.

Verb modules import only argparse at the top; their heavy imports happen in
``run`` so ``python -m harness list`` stays light (no torch).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "build_parser", "main"]

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

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


def _common() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", help="show full tracebacks instead of one-line errors"
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m harness`` parser with every verb."""
    from harness import __version__

    parser = argparse.ArgumentParser(
        prog="python -m harness",
        description="Benchmark mutual-information estimators on tasks with known ground truth.",
    )
    parser.add_argument("--version", action="version", version=f"mi-harness {__version__}")
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
    from results.store import StoreError

    return (SpecError, InputError, StoreError, FileNotFoundError, PermissionError)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the verb, turn errors into one line and exit code 2."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
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
        return EXIT_INTERRUPTED
    except Exception as exc:
        if args.debug:
            raise
        if isinstance(exc, _known_errors()):
            text = str(exc)
        else:
            text = f"{type(exc).__name__}: {exc} (rerun with --debug for the traceback)"
        print(f"error: {' '.join(text.split())}", file=sys.stderr)
        return EXIT_ERROR
