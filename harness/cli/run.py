"""``run``: run estimators on a task and store the rows (or ``--resume`` a run)."""

from __future__ import annotations

import argparse
import contextlib
import re
import shlex
import signal
import sys
from collections.abc import Iterator
from typing import Any

from harness.cli.arguments import seeds_arg

#: ``name key=value``: a space typed where ``name:key=value`` was meant
_SPACED = re.compile(r"^([A-Za-z_][\w.-]*)\s+(\w+\s*=.*)$")

#: distinct failure messages ``run`` prints per estimator (the rest are counted)
MESSAGES_PER_ESTIMATOR = 3
#: characters of one failure message ``run`` prints
MESSAGE_WIDTH = 200


def check_spacing(spec: str) -> None:
    """Refuse ``"ksg k=3"``, a space typed where ``':'`` belongs (``"ksg:k=3"``).

    Raises
    ------
    ValueError
        Naming the spec and the spelling that was probably meant.
    """
    m = _SPACED.match(spec.strip())
    if m:
        meant = f"{m.group(1)}:{m.group(2)}"
        raise ValueError(
            f"estimator spec {spec.strip()!r} has a space where ':' belongs between the "
            f"estimator and its parameters; did you mean {meant!r}?"
        )


def split_estimators(text: str) -> list[str]:
    """Split a comma list of specs where specs may hold ``key=value`` commas.

    A piece that reads ``key=value`` (an ``=`` before any ``:``) continues the
    previous spec; anything else starts a new one.

    Raises
    ------
    ValueError
        For ``key=value`` with no spec before it, or a piece such as
        ``"ksg k=3"`` (see :func:`check_spacing`).

    Examples
    --------
    >>> split_estimators("ksg:k=5,variant=2,kde")
    ['ksg:k=5,variant=2', 'kde']
    """
    specs: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        if not piece:
            continue
        check_spacing(piece)
        eq, colon = piece.find("="), piece.find(":")
        continues = eq > 0 and (colon < 0 or eq < colon)
        if continues:
            if not specs:
                raise ValueError(f"{piece!r} must follow an estimator name, as in 'ksg:{piece}'")
            specs[-1] = f"{specs[-1]}{',' if ':' in specs[-1] else ':'}{piece}"
        else:
            specs.append(piece)
    return specs


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "run",
        parents=[common],
        help="run estimators on a task",
        description=(
            "Run every estimator on every instance of a task for each seed; rows are "
            "committed to the results store as cells finish. Exit 0: at least one cell "
            "succeeded; 1: no cell succeeded (the failure messages are printed); 2: bad "
            "arguments or an unusable store; 130 (Ctrl-C) or 143 (SIGTERM): interrupted, "
            "finished cells are stored, continue with --resume."
        ),
    )
    g = p.add_argument_group("grid")
    g.add_argument(
        "--estimators",
        metavar="SPECS",
        action="append",
        default=[],
        help="comma list of estimator specs, e.g. 'ksg:k=5,variant=2,kde'",
    )
    g.add_argument(
        "-e",
        "--estimator",
        metavar="SPEC",
        action="append",
        default=[],
        help="one estimator spec (repeatable)",
    )
    g.add_argument("--task", metavar="SPEC", help="task spec, e.g. 'gmm_levels:per_level=50'")
    g.add_argument(
        "--n",
        type=int,
        metavar="N",
        help="sample size (default: the task's own n, shown by 'python -m harness list tasks')",
    )
    g.add_argument(
        "--seeds", type=seeds_arg, metavar="SEEDS", help="e.g. 0..4 or 0,1,2 (default: 0)"
    )
    g.add_argument(
        "--per-level", type=int, metavar="N", help="instances per MI level (default: the task's)"
    )
    g.add_argument(
        "--per-k",
        type=int,
        metavar="N",
        help="triplets per number of components (default: the task's)",
    )
    g.add_argument(
        "--per-d",
        type=int,
        metavar="N",
        help="triplets per dimension, highdim_order (default: the task's)",
    )
    g.add_argument(
        "--device", default="auto", help="auto (default), cpu or cuda (torch estimators)"
    )
    x = p.add_argument_group("execution")
    x.add_argument(
        "--executor",
        default="local",
        help="where cells run: local (default) or dask (a cluster at --scheduler, "
        "else a local Dask cluster of --workers processes)",
    )
    x.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="running Dask scheduler for --executor dask, e.g. tcp://host:8786",
    )
    x.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="worker processes, local or of the local Dask cluster (default 1: local runs "
        "in this process)",
    )
    x.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help=(
            "seconds allowed per cell (its sample generation and the estimate each; the "
            "estimator's prepare() at least --prepare-timeout); slower cells are stored as "
            "'timeout' (default: no limit)"
        ),
    )
    x.add_argument(
        "--prepare-timeout",
        type=float,
        metavar="S",
        help=(
            "with --timeout: seconds an estimator's one-off prepare() gets at least (it gets "
            "--timeout if longer); past it the cells waiting on it are stored as 'timeout' "
            "(default 300, so a first Numba compile is not cut short; on --resume, the "
            "run's own, or the value given for that session only, as with --timeout)"
        ),
    )
    x.add_argument("--resume", metavar="RUN", help="continue a stored run (id or 'latest')")
    x.add_argument(
        "--retry-failed", action="store_true", help="with --resume, rerun failed/timed-out cells"
    )
    x.add_argument("--run-id", help="id for the new run (default: timestamp + random suffix)")
    x.add_argument(
        "--store",
        metavar="PATH",
        help="results store (default: $MI_HARNESS_STORE or ./runs/mi-harness.sqlite)",
    )
    x.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bar or summary: print the run id (failure messages go to stderr)",
    )
    p.set_defaults(func=run)


def _task_spec(args: argparse.Namespace) -> str | None:
    """The task spec with --per-level / --per-k / --per-d folded in (only where the task
    has them)."""
    flags = {"per_level": args.per_level, "per_k": args.per_k, "per_d": args.per_d}
    given = {k: v for k, v in flags.items() if v is not None}
    if not given or args.task is None:
        return args.task
    import tasks
    from harness.interface import SpecError
    from harness.registry import format_spec, parse_spec

    name, params = parse_spec(args.task)
    valid = tasks.registry.defaults(name)
    for key, value in given.items():
        flag = "--" + key.replace("_", "-")
        if key not in valid:
            raise SpecError(f"{flag} does not apply to task {name!r} (it has no {key} parameter)")
        if key in params and params[key] != value:
            raise SpecError(f"{flag} {value} contradicts {key}={params[key]} in --task")
        params[key] = value
    return format_spec(name, params)


def _resume_hint(run_id: str, store: str | None, retry_failed: bool) -> str:
    """What the interrupt message tells the user to type to continue the run."""
    words = ["python", "-m", "harness", "run", "--resume", run_id]
    words += ["--retry-failed"] if retry_failed else []
    words += ["--store", store] if store else []
    return "; continue with: " + shlex.join(words)


def run(args: argparse.Namespace) -> int:
    """Run the grid (or resume a run), print its summary; return the exit code.

    Returns
    -------
    int
        0 when at least one cell of the run succeeded, else :data:`EXIT_FAILED`.
    """
    from harness.interface import SpecError
    from harness.runner import run as run_grid

    try:
        specs = [s for text in args.estimators for s in split_estimators(text)]
        for spec in args.estimator:
            check_spacing(spec)
            if "," in spec.split(":")[0]:
                raise ValueError(
                    f"-e/--estimator takes one spec, got {spec!r}; give -e once per "
                    f"estimator or the list to --estimators ('--estimators {spec}')"
                )
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    specs += args.estimator
    kwargs: dict[str, Any] = {
        "executor": args.executor,
        "scheduler": args.scheduler,
        "workers": args.workers,
        "timeout": args.timeout,
        "prepare_timeout": args.prepare_timeout,
        "store": args.store,
        "progress": False if args.quiet else None,
        "argv": getattr(args, "argv", None) or ["python", "-m", "harness", *sys.argv[1:]],
    }
    if args.resume:
        sizes = args.per_level or args.per_k or args.per_d
        grid = specs or args.task or args.n or args.seeds or sizes
        if grid or args.run_id:
            raise SpecError(
                "--resume takes the grid from the stored run; drop --estimators/--task/"
                "--n/--seeds/--per-level/--per-k/--per-d/--run-id"
            )
        kwargs.update(resume=args.resume, retry_failed=args.retry_failed)
        args.interrupt_hint = _resume_hint(args.resume, args.store, args.retry_failed)
    else:
        if not specs:
            raise SpecError("give estimators, e.g. --estimators ksg,kde")
        if not args.task:
            raise SpecError("give a task, e.g. --task gaussian")
        if args.retry_failed:
            raise SpecError("--retry-failed only applies with --resume")
        from results.store import new_run_id

        run_id = args.run_id or new_run_id()  # named now, so the hint names it
        kwargs.update(
            estimators=specs,
            task=_task_spec(args),
            n=args.n,
            device=args.device,
            run_id=run_id,
        )
        if args.seeds is not None:
            kwargs["seeds"] = args.seeds
        args.interrupt_hint = _resume_hint(run_id, args.store, False)
    from results.store import now

    args.invoked = now()
    with _sigterm_as_interrupt(args):
        df = run_grid(**kwargs)
    return _report(df, args)


def _report(df: Any, args: argparse.Namespace) -> int:
    """Print what the run did (the summary, or only its id with ``--quiet``); the exit code."""
    from harness.cli import EXIT_FAILED

    run_id = df.attrs.get("run_id")
    notes = sys.stderr if args.quiet else sys.stdout  # with --quiet stdout holds only the id
    if args.resume and not _ran_a_session(df, args.invoked):
        print(_nothing_left(df), file=notes)
    if args.quiet:
        print(run_id)
        lines = failure_lines(df)
        if lines:
            print("\n".join(lines), file=sys.stderr)
    else:
        print_summary(df)
    if len(df) and (df["status"] == "ok").any():
        return 0
    sys.stdout.flush()
    print(f"error: no cell of run {run_id} succeeded ({_outcome(df)})", file=sys.stderr)
    return EXIT_FAILED


def _ran_a_session(df: Any, invoked: str) -> bool:
    """Whether the run's last session started with this invocation (a resume of a
    complete run records none)."""
    from results import provenance

    _, sessions = provenance.of(df)
    return bool(sessions) and str(sessions[-1].get("started") or "") >= invoked


def _nothing_left(df: Any) -> str:
    retry = int(df["status"].isin(["failed", "timeout"]).sum()) if len(df) else 0
    hint = f"; --retry-failed reruns its {retry} failed or timed-out cells" if retry else ""
    return (
        f"nothing left to run: every cell of run {df.attrs.get('run_id')} already has a "
        f"final result{hint}"
    )


@contextlib.contextmanager
def _sigterm_as_interrupt(args: argparse.Namespace) -> Iterator[None]:
    """Treat SIGTERM (a scheduler stopping the job) like Ctrl-C: close the run cleanly.

    The handler sets ``args.stop_signal``, so the exit code is 128 + SIGTERM (143).
    """

    def handler(signum: int, frame: Any) -> None:
        args.stop_signal = signum
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def print_summary(df: Any, file: Any = None) -> None:
    """The run's metric tables in the paper's terms, the distinct failure messages,
    then where its rows are stored."""
    from harness.metrics import format_summary, summarize

    out = file or sys.stdout
    if len(df):
        print(format_summary(summarize(df)), file=out)
    lines = failure_lines(df)
    if lines:
        print("", *lines, sep="\n", file=out)
    run_id = df.attrs.get("run_id")
    print(f"\nrun {run_id}: {len(df)} cells ({_outcome(df)})", file=out)
    print(f"stored in {df.attrs.get('store')}", file=out)
    store = df.attrs.get("store")
    opt = f" --store {store}" if store else ""
    print(f"export: python -m harness export {run_id}{opt} -o {run_id}.parquet", file=out)


def _outcome(df: Any) -> str:
    counts = df["status"].value_counts().to_dict() if len(df) else {}
    return ", ".join(f"{v} {k}" for k, v in counts.items()) or "no cells"


def failure_lines(df: Any, per_estimator: int = MESSAGES_PER_ESTIMATOR) -> list[str]:
    """The distinct messages of a run's cells that did not succeed, per estimator.

    Parameters
    ----------
    df : pandas.DataFrame
        Result rows with ``label``, ``status`` and ``message``.
    per_estimator : int
        Distinct (status, message) pairs shown per estimator, most frequent
        first; the others are counted in one more line.

    Returns
    -------
    list of str
        A heading, then per estimator a line with its count of cells not ok and
        one indented line per message with its count; empty when every cell
        succeeded.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"label": ["ksg"] * 3, "status": ["failed", "failed", "ok"],
    ...                    "message": ["InputError: too few samples"] * 2 + [""]})
    >>> for line in failure_lines(df):
    ...     print(line)
    cells that did not succeed (distinct messages, most frequent first):
      ksg: 2 of 3 cells
        2 failed: InputError: too few samples
    """
    if not len(df):
        return []
    bad = df[df["status"] != "ok"]
    if not len(bad):
        return []
    totals = df.groupby("label", sort=False).size()
    messages = bad["message"].fillna("").astype(str) if "message" in bad else ""
    bad = bad.assign(message=messages)
    lines = ["cells that did not succeed (distinct messages, most frequent first):"]
    for label, part in bad.groupby("label", sort=False):
        lines.append(f"  {label}: {len(part)} of {totals[label]} cells")
        counts = part.groupby(["status", "message"], sort=False).size()
        counts = counts.sort_values(ascending=False, kind="stable")
        for (status, message), count in counts.head(per_estimator).items():
            lines.append(f"    {count} {status}: {_shorten(message) or '(no message)'}")
        rest = counts.iloc[per_estimator:]
        if len(rest):
            lines.append(
                f"    ... {len(rest)} more distinct message(s) in {int(rest.sum())} cell(s); "
                "all are in 'python -m harness export'"
            )
    return lines


def _shorten(text: str, width: int = MESSAGE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
