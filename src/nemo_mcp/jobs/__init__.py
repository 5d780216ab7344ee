"""Long work on record: edits, exports and uploads that outlive the tool call that asked for them.

Assistants stop waiting for a tool call after about 60 s while a generation takes 30-120 s, so a
tool call submits (or joins) a job, waits at most ``NEMO_TOOL_WAIT`` relaying its progress, and
answers with the result or ``running`` and the job's id. Every job is a record in the store from
the moment it is asked for, so:

- The same request while its job is active joins it: a message is never sent twice. A serial
  kind's next job is queued and runs when the one before ends, in order.
- A finished result waits in the store until it is told, exactly once, whichever process is
  asked (``tell``, ``news``, ``status``, ``overview``: the one place that decides what the user
  hears now, by each kind's ``Telling``); a restart loses none.
- The process running a job heartbeats (every ``TICK``). A job whose process is gone (pid dead on
  this host, or silent for ``STALE_S``) is adopted by whoever notices, ``resumed``: its flow
  decides what that means. A job running here can be stopped (``stop``); one the user stopped
  (status ``cancelled``, from any process: ``tools.cancel``) is stopped by its runner at its next
  tick, never claimed nor adopted, and its record keeps what stopping it meant.
- A cancelled tool call cancels only its own wait; the job goes on in the server's task group.

Progress only goes up (assistants draw a bar), with a "still working" message at least every
``TICK``. The work is one function (``Run``) that finds a record's flow, so a job can start again
after a restart; each kind's rules (``KindRules``) are declared once, in ``flows.kinds``.
"""

from nemo_mcp.jobs.manager import JobManager
from nemo_mcp.jobs.running import (
    LABEL_CHARS,
    POLL_S,
    STALE_S,
    TICK,
    Admit,
    Describe,
    Dispatch,
    KindRules,
    Listener,
    Run,
    RunningJob,
    Telling,
    Wake,
    elapsed_words,
)  # fmt: skip

__all__ = [
    "LABEL_CHARS", "POLL_S", "STALE_S", "TICK", "Admit", "Describe", "Dispatch", "JobManager",
    "KindRules", "Listener", "Run", "RunningJob", "Telling", "Wake", "elapsed_words",
]  # fmt: skip
