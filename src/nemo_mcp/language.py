"""Which language a project's session is created in. Pure.

Every seed creates sessions with ``"language": "<detected>"``: the backend's agent answers in it.
The choice, first that applies: ``NEMO_LANGUAGE``; the script of the first words the user sent
before the session was needed -- any ``send_edit``, even one answered without the backend ("上传这些
照片" before an upload creates the session), else the edit that creates it (Han -> zh, kana -> ja,
Hangul -> ko, Cyrillic -> ru, Arabic -> ar, Thai -> th, Devanagari -> hi); the system locale
(``LC_ALL``/``LC_MESSAGES``/``LANG``); English.
Latin-script text says nothing about which Latin language it is, so the locale decides then.
"""

from __future__ import annotations

import re

DEFAULT_LANGUAGE = "en"
_SCRIPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ja", re.compile(r"[\u3040-\u30ff]")),  # kana first: Japanese text mixes in Han
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff]")),
    ("zh", re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
)
_LOCALE = re.compile(r"^([a-z]{2,3})(?:[_-]|$)")


def language_of_text(text: str) -> str | None:
    """The language a message's script shows, or None for Latin script (or no letters)."""
    for language, script in _SCRIPTS:
        if script.search(text):
            return language
    return None


def language_of_locale(locale: str | None) -> str | None:
    """``zh_CN.UTF-8`` -> ``zh``; ``C`` and ``POSIX`` say nothing."""
    if not locale or locale in ("C", "POSIX") or locale.startswith("C."):
        return None
    match = _LOCALE.match(locale.strip().lower())
    return match[1] if match else None


def choose_language(override: str | None, first_message: str | None, locale: str | None) -> str:
    """The session's language, by the rules in the module docstring."""
    if override:
        return override
    return (
        (language_of_text(first_message) if first_message else None)
        or language_of_locale(locale)
        or DEFAULT_LANGUAGE
    )
