"""The ``nemo-mcp`` command. Sub-commands import what they need when they run, so the server
starts fast (assistants spawn it at launch) and ``skills`` needs no network.

While serving, nothing but JSON-RPC goes to stdout: this module prints only for the other
sub-commands, and logging goes to stderr and a file.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from nemo_mcp import __version__
from nemo_mcp.errors import ConfigError

if TYPE_CHECKING:
    from nemo_mcp.manifests import Manifest
    from nemo_mcp.settings import Settings

SKILL_ENV = "NEMO_SKILL"
ALL = "all"
"""``--skill all``: every skill, as without ``--skill`` (to override ``NEMO_SKILL``)."""


def _say(text: str) -> None:
    print(text, flush=True)


def _settings() -> Settings:
    from nemo_mcp.settings import Settings

    try:
        return Settings.from_env()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _manifests(settings: Settings) -> dict[str, Manifest]:
    from nemo_mcp.manifests import load_manifests, manifest_dirs

    return load_manifests(manifest_dirs(settings.manifest_dir))


def _manifest(name: str | None, settings: Settings) -> Manifest:
    from nemo_mcp.manifests import get_manifest

    return get_manifest(name or settings.skill, _manifests(settings))


def _served(name: str | None, settings: Settings) -> dict[str, Manifest]:
    """The skills a server serves: the one named (``--skill``, else ``NEMO_SKILL``), else all."""
    narrowed = name or settings.skill
    if narrowed in (None, ALL):
        return _manifests(settings)
    manifest = _manifest(narrowed, settings)
    return {manifest.name: manifest}


def _pick_lines(args: argparse.Namespace, manifests: dict[str, Manifest]) -> list[str]:
    """What ``--pick PHRASE`` (with ``--media``) would choose on a server of every skill."""
    from nemo_mcp.skill_choice import explain_choice, media_types

    if args.pick is None:
        return []
    return [explain_choice(manifests, args.pick, media_types(args.media or []))]


def _cmd_skills(args: argparse.Namespace) -> int:
    manifests = _manifests(_settings())
    if args.pick is not None:
        for line in _pick_lines(args, manifests):
            print(line)
        return 0
    if args.json:
        print(json.dumps([m.summary() for m in manifests.values()], indent=2, ensure_ascii=False))
        return 0
    width = max(len(name) for name in manifests)
    for m in manifests.values():
        types = ", ".join(m.accepted_types)
        print(f"{m.name:<{width}}  {m.display_name} {m.version}: {m.description}")
        print(f"{'':<{width}}  accepts {types}; up to {m.max_upload_mb} MB; ~{m.typical_time}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings()
    manifests = _served(args.skill, settings)
    local = args.local or (settings.offline and not args.http)
    if args.http:
        if args.local:
            raise ConfigError("--http serves many users on the real backend: drop --local.")
        from nemo_mcp.remote.serve_http import serve_http

        try:
            return serve_http(manifests, settings, host=args.host, port=args.port)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if local:
        from nemo_mcp.offline import check_local_extra

        check_local_extra()
    from nemo_mcp.logs import setup_logging

    setup_logging(settings.config_dir, settings.log_level)
    from nemo_mcp.serve import serve_stdio

    return serve_stdio(manifests, settings, local=local)


def _cmd_local_backend(args: argparse.Namespace) -> int:
    """Its flags belong to ``nemo_local``, parsed there: the server's start-up never loads it."""
    from nemo_local.command_line import main as local_backend

    return local_backend(args.rest, prog="nemo-mcp local-backend")


def _canvas(text: str) -> tuple[int, int]:
    """``--canvas``, checked here so the message names the flag."""
    from nemo_media.canvas import parse_canvas

    try:
        return parse_canvas(text, "--canvas")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _cmd_doctor(args: argparse.Namespace) -> int:
    import anyio

    from nemo_mcp.doctor import run_doctor

    settings = _settings()
    for line in _pick_lines(args, _manifests(settings)):
        _say(f"pick: {line}")
    skill = args.skill or settings.skill
    local = args.local or settings.offline
    return anyio.run(partial(run_doctor, None if skill == ALL else skill, _say, local=local))


def _cmd_state(args: argparse.Namespace) -> int:
    import anyio

    from nemo_mcp.housekeeping import run_state

    return anyio.run(partial(run_state, _settings(), _say, prune=args.prune))


def _cmd_config(args: argparse.Namespace) -> int:
    from nemo_mcp import install
    from nemo_mcp.client_config import WHERE, config_block, hints

    settings = _settings()
    skill = None if args.skill in (None, ALL) else _manifest(args.skill, settings).name
    found = install.detect(install.current(), local=args.local)
    print(config_block(args.client, skill, found.command, local=args.local))
    print(f"\nPaste it into {WHERE[args.client]}.", file=sys.stderr)
    for line in hints(found.kind, local=args.local):
        print(line, file=sys.stderr)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    import anyio

    from nemo_mcp.demo import run_demo

    settings = _settings()
    if args.canvas:
        _canvas(args.canvas)
    output = (args.output_dir or settings.output_dir).expanduser().resolve()
    try:
        path = anyio.run(partial(run_demo, output, _say, canvas=args.canvas))
    except Exception as exc:
        cause: BaseException = exc
        while isinstance(cause, BaseExceptionGroup) and cause.exceptions:
            cause = cause.exceptions[0]
        print(f"nemo-mcp demo: {cause}", file=sys.stderr)
        return 1
    _say(f"Your video: {path}")
    return 0


def _pick_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pick", metavar="PHRASE", help="say which skill PHRASE would be sent to")
    p.add_argument(
        "--media", nargs="*", metavar="FILE", help="with --pick: the files (or types) it comes with"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nemo-mcp",
        description="An MCP server for AI video work on the NemoVideo backend.",
    )
    parser.add_argument("--version", action="version", version=f"nemo-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    skill_help = f"narrow to one skill (default: ${SKILL_ENV}, else all); see `nemo-mcp skills`"

    p = sub.add_parser("skills", help="list the skills (one per manifest)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _pick_arguments(p)
    p.set_defaults(run=_cmd_skills)

    p = sub.add_parser("serve", help="run the MCP server (stdio; --http for many users)")
    p.add_argument("--skill", help=skill_help)
    p.add_argument(
        "--local", action="store_true", help="use the embedded local backend (no account needed)"
    )
    p.add_argument(
        "--http", action="store_true", help="serve many users over streamable HTTP (DEPLOY.md)"
    )
    p.add_argument("--host", default="127.0.0.1", help="with --http: address to listen on")
    p.add_argument("--port", type=int, default=8000, help="with --http: port to listen on")
    p.set_defaults(run=_cmd_serve)

    p = sub.add_parser("local-backend", help="run the embedded backend on loopback", add_help=False)
    p.set_defaults(run=_cmd_local_backend)

    p = sub.add_parser("doctor", help="check the configuration and say what to fix")
    p.add_argument("--skill", help="check one skill (default: $NEMO_SKILL, else every skill)")
    p.add_argument("--local", action="store_true", help="check the offline set-up (serve --local)")
    _pick_arguments(p)
    p.set_defaults(run=_cmd_doctor)

    p = sub.add_parser("state", help="what the config folder's store holds; --prune tidies it")
    p.add_argument("--prune", action="store_true", help="remove stale records (docs/STATE.md)")
    p.set_defaults(run=_cmd_state)

    p = sub.add_parser("config", help="print the JSON block for an MCP client's settings")
    p.add_argument("--client", choices=["claude", "cursor"], required=True)
    p.add_argument("--skill", help="narrow the entry to one skill (default: every skill)")
    p.add_argument("--local", action="store_true", help="run offline on the local backend")
    p.set_defaults(run=_cmd_config)

    p = sub.add_parser("demo", help="make a real video end to end, offline")
    p.add_argument("--output-dir", type=Path, help="where the MP4 goes (default: NEMO_OUTPUT_DIR)")
    p.add_argument("--canvas", help="frame size WxH (default 1080x1920)")
    p.set_defaults(run=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and getattr(args, "run", None) is not _cmd_local_backend:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = [*getattr(args, "rest", []), *rest]
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
