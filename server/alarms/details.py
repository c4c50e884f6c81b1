"""An alarm's detail line (or a command outcome's) in a person's language: the line's shape
(``protocol.details``) picks the words (``detail.*`` in ``i18n``). Pure.

- ``detail.<shape>``, or ``detail.<shape>_<value>`` for a shape said differently per code
  (welfare: per cause; tailgate: per passage);
- a value that is a code (``_CODE_FIELDS``) is said in words where the catalogue has them:
  ``detail.<name>_<value>`` (a camera state, an offline cause, a refusal), else
  ``code.<name>_<value>`` (a command kind, as the audit trail says it);
- a line in no known shape, or with a code that has no words yet, is shown as it is.
"""

from __future__ import annotations

import i18n
from protocol.details import Shape, read

# Shapes with one sentence per value of this field.
_SENTENCE_PER = {Shape.WELFARE: "cause", Shape.TAILGATE: "passage"}
# Fields that hold a code (the others are numbers, times, names and free text).
_CODE_FIELDS = frozenset({"camera", "cause", "refusal", "command"})


def _slug(value: str) -> str:
    return value.strip().replace(" ", "_")


def detail_words(line: str | None, language: str) -> str:
    if not line:
        return ""
    found = read(line)
    if found is None:
        return line
    shape, values = found
    words = i18n.catalogue(language)
    key = f"detail.{shape.value}"
    per = _SENTENCE_PER.get(shape)
    if per is not None:
        key = f"{key}_{_slug(values.pop(per))}"
    if key not in words:
        return line
    shown = dict(values)
    for name in _CODE_FIELDS & set(values):
        value = values[name]
        said = words.get(f"detail.{name}_{_slug(value)}") or words.get(f"code.{name}_{value}")
        if said is None:
            return line  # half in words would read worse than the line itself
        shown[name] = said
    return words[key].format(**shown)
