"""The ``nemo-mcp`` command. Sub-commands import what they need when they run, so the
server starts fast (assistants spawn it at launch) and ``skills`` needs no network."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from nemo_mcp import __version__
from nemo_mcp.errors import ConfigError


def _cmd_skills(args: argparse.Namespace) -> int:
    from nemo_mcp.manifests import load_manifests

    manifests = load_manifests()
    if args.json:
        print(json.dumps([m.summary() for m in manifests.values()], indent=2, ensure_ascii=False))
        return 0
    width = max(len(name) for name in manifests)
    for m in manifests.values():
        types = ", ".join(m.accepted_types)
        print(f"{m.name:<{width}}  {m.display_name} {m.version}: {m.description}")
        print(f"{'':<{width}}  accepts {types}; up to {m.max_upload_mb} MB; ~{m.typical_time}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nemo-mcp",
        description="An MCP server for AI video work on the NemoVideo backend.",
    )
    parser.add_argument("--version", action="version", version=f"nemo-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    skills = sub.add_parser("skills", help="list the skills (one per manifest)")
    skills.add_argument("--json", action="store_true", help="machine-readable output")
    skills.set_defaults(run=_cmd_skills)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        code: int = args.run(args)
    except ConfigError as exc:
        print(f"nemo-mcp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
