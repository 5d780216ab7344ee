"""``python -m nemo_local`` and ``nemo-mcp local-backend``: run the embedded backend on loopback.

Flags are checked here, in the process that received them, so every message names its flag.
Credits work as under ``serve --local``: a new token gets ``--credits`` (10,000) and a balance that
runs short is topped back up, so an operator's backend never refuses work for credits;
``--no-refill`` lets balances run out, as the cloud's do (to try the out-of-credits path).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from nemo_local.config import DEFAULT_CANVAS, DEFAULT_HOST, OFFLINE_CREDITS, LocalBackendConfig
from nemo_local.faults import Faults
from nemo_media.canvas import parse_canvas


def parse_fault(text: str) -> tuple[str, object]:
    """``NAME`` switches on; ``NAME=VALUE`` takes a JSON value (``2``, ``true``, ``1.5``)."""
    name, sep, value = text.partition("=")
    try:
        return name, json.loads(value) if sep else True
    except json.JSONDecodeError:
        raise ValueError(f"--fault {name}: {value!r} is not a number, true or false") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    canvas = "x".join(map(str, DEFAULT_CANVAS))
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument(
        "--data-dir", type=Path, help="uploads and renders (default: a temp folder)"
    )
    parser.add_argument(
        "--credits", type=int, default=OFFLINE_CREDITS,
        help=f"credits of a new token, topped back up when short (default {OFFLINE_CREDITS:,})",
    )  # fmt: skip
    parser.add_argument(
        "--no-refill", dest="refill", action="store_false",
        help="let balances run out instead of topping them up (the cloud's behaviour)",
    )  # fmt: skip
    parser.add_argument("--canvas", default=canvas, help="default frame size, WxH")
    parser.add_argument("--seed", type=int, help="makes silent edits repeatable")
    parser.add_argument(
        "--keep-state", action="store_true",
        help="keep accounts, projects and renders in --data-dir across restarts",
    )  # fmt: skip
    parser.add_argument(
        "--fault", action="append", default=[], metavar="NAME[=VALUE]",
        help="a fault switch at start, e.g. drop_next_stream or rate_limit_next=2",
    )  # fmt: skip


def config_from(args: argparse.Namespace) -> LocalBackendConfig:
    """The checked config; ``ValueError`` names the flag at fault."""
    faults = Faults()
    try:
        faults.update(dict(parse_fault(f) for f in args.fault))
    except (ValueError, TypeError) as exc:
        raise ValueError(
            str(exc) if str(exc).startswith("--fault") else f"--fault: {exc}"
        ) from None
    if args.credits < 0:
        raise ValueError(f"--credits must be 0 or more, not {args.credits}")
    if args.keep_state and not args.data_dir:
        raise ValueError("--keep-state needs --data-dir (where the state is kept)")
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="nemo-local-backend-"))
    return LocalBackendConfig(
        data_dir=data_dir, host=args.host, port=args.port, starting_credits=args.credits,
        canvas=parse_canvas(args.canvas, "--canvas"), seed=args.seed, faults=faults,
        keep_state=args.keep_state, refill_credits=args.refill,
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from nemo_local.runner import serve_forever

    try:
        config = config_from(args)
    except ValueError as exc:
        print(f"nemo-local: {exc}", file=sys.stderr)
        return 2
    return serve_forever(config)


def main(argv: Sequence[str] | None = None, prog: str = "python -m nemo_local") -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Run the embedded backend on loopback.")
    add_arguments(parser)
    return run(parser.parse_args(argv))
