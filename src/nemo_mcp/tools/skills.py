"""Which skill's ``Runtime`` a tool call runs under, on a server of one skill or of every skill.

A server of every skill holds one ``Runtime`` per skill (its own backend client: attribution
headers, session, limits and words from its manifest) over one store. Each call runs under
exactly one: the ``skill`` argument when given, else the one ``nemo_mcp.skill_choice`` picks
from the call's words and media and the conversation's current skill. When several fit equally,
the call answers with the question which (an ``InputError`` listing them). The skill a call ran
under becomes the conversation's current one.

The tools' ``skill`` argument is an enum of the installed skills, written into each tool's
signature when the server is built (``with_skill_argument``); a server of one skill has none.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol, cast

from mcp.server.mcpserver import Context
from pydantic import BaseModel, WithJsonSchema

from nemo_mcp.errors import InputError
from nemo_mcp.jobs import RunningJob
from nemo_mcp.manifests import Manifest
from nemo_mcp.skill_choice import MediaMix, ask_which, choose_skill
from nemo_mcp.tools.runtime import Runtime, RuntimeSource

SKILL = "skill"


@dataclass(frozen=True)
class Pick:
    """What a call gives for choosing its skill: the argument, the words, the media."""

    skill: str | None = None
    message: str = ""
    media: MediaMix = MediaMix()
    any_skill: bool = False
    """Never ask: the call reaches every skill of the caller anyway (a stop)."""


class SkillSource(RuntimeSource, Protocol):
    """A lifespan state of several skills (``SkillSet`` here; the shared server's users)."""

    manifests: Mapping[str, Manifest]

    def runtime_of_skill(self, ctx: Context, skill: str) -> Runtime: ...
    def current_skill(self, ctx: Context) -> str | None: ...
    def remember(self, ctx: Context, skill: str, media: MediaMix) -> None: ...
    def recent_media(self, ctx: Context) -> MediaMix: ...


@dataclass
class SkillSet:
    """A stdio server of every skill: one ``Runtime`` per skill, one conversation."""

    runtimes: dict[str, Runtime]
    current: str | None = None
    media: MediaMix = field(default_factory=MediaMix)

    @property
    def manifests(self) -> Mapping[str, Manifest]:
        return {name: runtime.manifest for name, runtime in self.runtimes.items()}

    def in_use(self) -> Runtime:
        """The current skill's runtime (the first skill's before any call chose one)."""
        return self.runtimes[self.current or next(iter(self.runtimes))]

    def runtime_for(self, ctx: Context) -> Runtime:
        return self.in_use()

    def runtime_of_skill(self, ctx: Context, skill: str) -> Runtime:
        return self.runtimes[skill]

    def current_skill(self, ctx: Context) -> str | None:
        return self.current

    def remember(self, ctx: Context, skill: str, media: MediaMix) -> None:
        self.current = skill
        if not media.empty:
            self.media = media

    def recent_media(self, ctx: Context) -> MediaMix:
        return self.media


@dataclass
class SkillWork:
    """What runs a job on a server of every skill: the work of the job's skill's runtime."""

    runtimes: Mapping[str, Runtime]

    async def __call__(self, job: RunningJob) -> BaseModel:
        return await self.runtimes[job.scope.skill].work(job)


def is_many(context: object) -> bool:
    return hasattr(context, "runtime_of_skill")


def pick_runtime(ctx: Context, tool: str, pick: Pick) -> Runtime:
    """The ``Runtime`` this call runs under (rules in the module docstring)."""
    context = ctx.request_context.lifespan_context
    if isinstance(context, Runtime):
        return context
    if not is_many(context):
        return cast(RuntimeSource, context).runtime_for(ctx)
    source = cast(SkillSource, context)
    manifests = source.manifests
    if pick.skill:
        if pick.skill not in manifests:
            raise InputError(
                f"There is no skill {pick.skill!r} here. Use one of: {', '.join(manifests)}."
            )
        chosen = pick.skill
    else:
        strict = not pick.media.empty
        media = pick.media if strict else source.recent_media(ctx)
        current = source.current_skill(ctx)
        choice = choose_skill(manifests, pick.message, media, current, strict=strict)
        if choice.skill is None and not pick.any_skill:
            raise InputError(ask_which(manifests, choice.candidates, tool))
        chosen = choice.skill or current or next(iter(manifests))
    source.remember(ctx, chosen, pick.media)
    return source.runtime_of_skill(ctx, chosen)


def all_runtimes(ctx: Context) -> list[Runtime]:
    """Every skill's ``Runtime`` this caller has (one on a server of one skill)."""
    context = ctx.request_context.lifespan_context
    if isinstance(context, Runtime):
        return [context]
    if not is_many(context):
        return [cast(RuntimeSource, context).runtime_for(ctx)]
    source = cast(SkillSource, context)
    return [source.runtime_of_skill(ctx, name) for name in source.manifests]


def skill_description(manifests: Mapping[str, Manifest]) -> str:
    """The ``skill`` argument's words (on ``send_edit``; the other tools' is the enum alone)."""
    each = "; ".join(
        f"{name}: {(m.choosing.choice or m.description).rstrip('.')}"
        for name, m in manifests.items()
    )
    return f"default: picked by the words and media. {each}"


Tool = Callable[..., Awaitable[Any]]


def with_skill_argument(fn: Tool, manifests: Mapping[str, Manifest], *, full: bool) -> Tool:
    """``fn`` with its ``skill`` parameter as an enum of ``manifests`` (left out for one skill).

    The SDK reads a tool's parameters from its signature, so the enum is written there, on a
    wrapper: the tool functions themselves are shared by every server built in a process."""
    signature = inspect.signature(fn, eval_str=True)
    params = [p for p in signature.parameters.values() if p.name != SKILL]
    if len(manifests) > 1:
        schema: dict[str, Any] = {"enum": list(manifests), "type": "string"}
        if full:
            schema["description"] = skill_description(manifests)
        annotation = Annotated[str | None, WithJsonSchema(schema)]
        params.append(
            inspect.Parameter(
                SKILL, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation
            )
        )

    @functools.wraps(fn)
    async def tool(*args: Any, **kwargs: Any) -> Any:
        return await fn(*args, **kwargs)

    tool.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
    return tool
