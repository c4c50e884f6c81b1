"""The catalogue: both languages say the same things, every reason a station can show has its
words, the staff pages find every word they ask for."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

import i18n
from i18n import en, rider_message, zh
from protocol.reasons import Reason
from server.web.language import Texts
from server.web.render import SCRIPT_WORDS

TEMPLATES = Path(__file__).parents[3] / "server" / "web" / "templates"


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    assert set(zh.MESSAGES) == set(en.MESSAGES)
    for key, chinese in zh.MESSAGES.items():
        assert _placeholders(chinese) == _placeholders(en.MESSAGES[key]), key
        assert chinese.strip(), key
        assert en.MESSAGES[key].strip(), key


def test_every_key_is_in_a_known_family() -> None:
    assert {key.split(".", 1)[0] for key in zh.MESSAGES} == {
        "page",
        "code",
        "rider",
        "door",
        "alert",
        "audit",
        "error",
        "detail",
        "join",
        "finder",
    }


def test_every_reason_has_rider_words_in_both_languages() -> None:
    for reason in Reason:
        assert rider_message(reason) == zh.MESSAGES[f"door.{reason.value}"]
        assert rider_message(reason, "en") == en.MESSAGES[f"door.{reason.value}"]
    assert rider_message(Reason.EXPIRED) != rider_message(Reason.EXPIRED, "en")


def test_unknown_language_falls_back_to_chinese() -> None:
    assert i18n.text("page.login", "fr") == zh.MESSAGES["page.login"]
    assert i18n.text("page.locked", "en", s=5) == "Too many failed logins: try again in 5 s"


def test_rider_family_is_what_the_rider_page_reads() -> None:
    words = i18n.family("rider", "en")
    assert words["title"] == "Warm Station pass"
    assert set(words) == set(i18n.family("rider", "zh"))


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_word_a_template_or_script_asks_for_exists(language: str) -> None:
    t = Texts(language)
    asked = set(SCRIPT_WORDS)
    for template in TEMPLATES.glob("*.html"):
        asked |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*[,)]""", template.read_text()))
    assert asked, "the templates ask for words through t('key')"
    for key in sorted(asked):
        assert t(key, **dict.fromkeys(_placeholders(i18n.text(f"page.{key}")), 1)), key


def test_a_code_not_in_the_catalogue_is_shown_as_it_is() -> None:
    assert Texts("zh").code("door_opened") == zh.MESSAGES["code.door_opened"]
    assert Texts("en").code("some_new_kind") == "some_new_kind"
    assert Texts("en").code(None) == ""
