"""Every word people read, one catalogue per language: zh-CN first (``zh``), English (``en``).

Keys are ``family.name``:

- ``page.*``: the staff pages' words;
- ``code.*``: codes stored in events, alarms and the audit trail (kinds, reasons, actions) as
  staff read them;
- ``rider.*``: the rider's pass page;
- ``finder.*``: the public station finder (``/find``) and the code page's nearby stations;
- ``alert.*``: the lines of an alarm sent to staff's group chats and phones;
- ``audit.*``: an audit entry in words (what happened, the fields it changed, who did it);
- ``door.*``: what a station's display says, one per ``protocol.reasons.Reason`` value, the
  pieces of a refusal's next step (``door_message``: nearby station, reopening time,
  hotline) and ``door.idle`` (the screen while nobody is at the door);
- ``join.*``: the public page where riders ask to join (``/join``).
- ``error.*``: what a request got wrong, one per ``server.core.errors.ErrorCode`` (the JSON
  API sends the English one as ``detail``, with the code);
- ``detail.*``: an alarm's or a command's detail line, one per ``protocol.details.Shape``
  (and per code inside it: a camera state, an offline cause, a refusal).

Pure data and lookups, no I/O and no project imports, so the agent, the server, the simulator
and the demo all share it. A test checks that both catalogues have the same keys and the same
``{placeholders}``.
"""

from __future__ import annotations

from i18n import door, en, zh

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
CATALOGUES: dict[str, dict[str, str]] = {"zh": zh.MESSAGES, "en": en.MESSAGES}


def catalogue(language: str) -> dict[str, str]:
    """The messages of ``language``; an unknown language gets the default (Chinese)."""
    return CATALOGUES.get(language, CATALOGUES[DEFAULT_LANGUAGE])


def text(key: str, language: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The message ``key`` in ``language``, with ``{placeholders}`` filled from ``values``."""
    message = catalogue(language)[key]
    return message.format(**values) if values else message


def family(name: str, language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """Every message of one family, keyed without the family: ``family("rider")["title"]``."""
    prefix = name + "."
    return {k[len(prefix) :]: v for k, v in catalogue(language).items() if k.startswith(prefix)}


def has(key: str) -> bool:
    return key in CATALOGUES[DEFAULT_LANGUAGE]


def rider_message(reason: str, language: str = DEFAULT_LANGUAGE) -> str:
    """What the station's display says for a decision's reason code."""
    return text(f"door.{reason}", language)


def door_message(
    reason: str, language: str = DEFAULT_LANGUAGE, hint: door.Hint | None = None
) -> str:
    """What the station's display says for a refusal, with the rider's next step (the
    nearest open station with room, when this one reopens, the hotline) when ``hint`` has it."""
    return door.door_message(catalogue(language), reason, language, hint)
