"""The five tools' names: one enum for the registry, the GUI translation and the texts. Pure."""

from __future__ import annotations

from enum import StrEnum


class ToolName(StrEnum):
    UPLOAD_MEDIA = "upload_media"
    SEND_EDIT = "send_edit"
    GET_TIMELINE = "get_timeline"
    EXPORT_VIDEO = "export_video"
    CHECK_CREDITS = "check_credits"
