"""The long workflows that run inside jobs: an edit (a message and its stream), an export
(render, poll, save) and an upload (check, convert, stream). Each reads its request from the
job's record, so a restarted server can resume or account for it."""
