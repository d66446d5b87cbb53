"""Reading the chosen option out of answers in many scripts, and the prompt frames."""

from __future__ import annotations

import pytest

from culturalign.probes.vsm.countries import find_country, paper_countries
from culturalign.probes.vsm.extract import ascii_digits, extract_choice
from culturalign.probes.vsm.instrument import ItemText
from culturalign.probes.vsm.prompts import frames, messages_for, system_prompt

LABELS = ("label alpha", "very label beta", "label beta", "label delta", "label epsilon")


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("2 - very important", "en", 2),
        ("I would choose option 4.", "en", 4),
        ("**3**", "en", 3),
        ("three", "en", 3),
        ("Je choisis la réponse cinq.", "fr", 5),
        ("Elijo la opción dos", "es", 2),
        ("الإجابة: ٣", "ar", 3),  # Arabic-Indic digit
        ("أختار الخيار الرابع", "ar", 4),  # Arabic number word
        ("मेरा उत्तर ४ है", "hi", 4),  # Devanagari digit
        ("मैं पाँच चुनूंगा", "hi", 5),  # Hindi word
        ("我选择三", "zh", 3),  # Chinese numeral after a cue
        ("二", "zh", 2),  # bare numeral
        ("选项 2：非常重要", "zh", 2),
        ("ตอบข้อ ๔", "th", 4),  # Thai digit
        ("ข้อสาม", "th", 3),  # Thai word after a cue
        ("উত্তর: ৫", "bn", 5),  # Bengali digit
        ("پاسخ: ۱", "fa", 1),  # Persian digit
        ("回答：３", "ja", 3),  # full-width digit
        ("Jibu: tatu", "sw", 3),
    ],
)
def test_reads_the_choice(text, language, expected):
    found = extract_choice(text, language, LABELS)
    assert (found.choice, found.status) == (expected, "ok")


def test_option_text_when_no_number_prefers_the_longest_label():
    assert extract_choice("I'd say very label beta.", "en", LABELS).choice == 2
    assert extract_choice("label beta", "en", LABELS).choice == 3


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("As an AI language model I cannot answer that.", "refusal"),
        ("It depends on the situation.", "no_answer"),
        ("I pick 7", "out_of_range"),
        ("Either 2 or 4, hard to say", "ambiguous"),
        ("三和四都可以", "no_answer"),
        ("1. label alpha\n2.", "echoed_options"),  # a base model continuing the option list  # numerals without a cue in a script without spaces are not trusted
        ("", "no_answer"),
    ],
)
def test_failures_are_failures_not_defaults(text, status):
    found = extract_choice(text, "en" if text.isascii() else "zh", LABELS)
    assert found.choice is None and found.status == status


def test_a_failed_call_is_an_error():
    assert extract_choice(None, "en").status == "error"


def test_article_words_are_not_read_as_one():
    assert extract_choice("C'est un choix difficile", "fr").choice is None
    assert extract_choice("Bu bir seçim", "tr").choice is None


def test_ascii_digits_covers_scripts():
    assert ascii_digits("٣ ۳ ३ ৩ ๓ ３") == "3 3 3 3 3 3"


def test_every_paper_language_has_a_frame_and_every_country_a_name_in_it():
    languages = {c.language for c in paper_countries()}
    assert len(languages) == 20 and languages <= set(frames())
    for country in paper_countries():
        assert set(country.names) >= languages, country.key


def test_system_prompt_names_the_country_in_the_prompt_language():
    usa, japan = find_country("USA"), find_country("Japan")
    assert system_prompt(usa, "en").startswith("Your role is an average person from the United States.")
    assert "日本" in system_prompt(japan, "zh") and "{country}" not in system_prompt(japan, "zh")
    assert "numerical value" in system_prompt(usa, "en")


def test_messages_carry_five_numbered_options_and_a_cue_for_base_models():
    item = ItemText(1, "Some question?", ("a", "b", "c", "d", "e"), "en")
    chat = messages_for(find_country("germany"), "de", item)
    assert [m.role for m in chat] == ["system", "user"]
    assert chat[1].content.splitlines()[1:] == ["1. a", "2. b", "3. c", "4. d", "5. e"]
    base = messages_for(find_country("germany"), "de", item, completion=True)
    assert base[1].content.endswith("Antwort:")
