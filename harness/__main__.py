"""``python -m harness`` (and the ``mi-harness`` script): the command line."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    from harness import check_siblings

    try:
        check_siblings()
    except ImportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from harness.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
