"""The staff pages' language: ``?lang=en`` or ``?lang=zh`` switches and is remembered in a
cookie; the words themselves are in the catalogue (``i18n``: ``page.*`` and ``code.*``)."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request

import i18n
from server.alarms.details import detail_words

LANG_COOKIE = "ws_lang"
LANGUAGES = i18n.LANGUAGES


def language_of(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    remembered = request.cookies.get(LANG_COOKIE)
    return remembered if remembered in LANGUAGES else "zh"


class Texts:
    """``t("key")`` or ``t("key", n=3)`` in a template."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._words = i18n.catalogue(language)

    def __call__(self, key: str, **values: object) -> str:
        text = self._words["page." + key]
        return text.format(**values) if values else text

    def code(self, value: str | None) -> str:
        """A stored code (event kind, alarm, action, reason) in words, or as it is."""
        if not value:
            return ""
        return self._words.get("code." + value, value)

    def detail(self, line: str | None) -> str:
        """An alarm's or a command's detail line in words (as it is when not in a known shape)."""
        return detail_words(line, self.language)

    def error(self, code: str, values: Mapping[str, object] | None = None) -> str:
        """An error (``server.core.errors.ErrorCode``) in words; a value that has words of its
        own (``page.<name>_<value>``: a role, say) in those, and the API's field names of an
        invalid input (``page.field_<name>``) too. staff.js does the same."""
        shown: dict[str, object] = {}
        for name, value in (values or {}).items():
            if name == "fields":
                said = [self._words.get(f"page.field_{f}", f) for f in str(value).split(", ")]
                shown[name] = self._words["page.list_sep"].join(said)
            else:
                shown[name] = self._words.get(f"page.{name}_{value}", value)
        return self._words[f"error.{code}"].format(**shown)

    def family(self, name: str) -> dict[str, str]:
        """Every word of one family, keys in full (``error.no_station``): for the script."""
        return {k: v for k, v in self._words.items() if k.startswith(name + ".")}

    def as_dict(self, *keys: str) -> dict[str, str]:
        """A few words for the page's script."""
        return {key: self._words["page." + key] for key in keys}
