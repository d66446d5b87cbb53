"""Reading the chosen option out of answers in many scripts, and the prompt frames."""

from __future__ import annotations

import pytest

from culturalign.probes.vsm.countries import find_country, paper_countries
from culturalign.probes.vsm.extract import ascii_digits, extract_choice, number_words
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
        ("三和四都可以", "no_answer"),  # numerals without a cue in a script without spaces are not trusted
        ("1. label alpha\n2.", "echoed_options"),  # a base model continuing the option list
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


def test_superscripts_are_not_digits_but_circled_digits_are():
    assert extract_choice("about 10 m²", "en").status == "out_of_range"
    assert extract_choice("③", "ja").choice == 3


# Ordinary words that are also number words, each once misread as an answer.
@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("One of the most important things in life", "en"),
        ("Answer: one of the most important values", "en"),  # a cue, but "one of" counts things
        ("Одна из самых важных вещей", "ru"),
        ("Itu salah satu yang terpenting", "id"),
        ("Isa sa pinakamahalaga ito", "tl"),
        ("Uno nunca sabe", "es"),
        ("Respuesta: uno de los más importantes", "es"),
        ("في المقام الأول تأتي الأسرة", "ar"),  # "primarily"
        ("まず第一に家族です", "ja"),  # "first of all"
        ("家庭是第一位的", "zh"),  # "family comes first"
        ("第一，家庭很重要", "zh"),  # "firstly, ..."
        ("Les deux sont importants", "fr"),  # "both"
        ("Je choisis les deux", "fr"),
        ("Elijo los dos", "es"),
        ("Kedua hal itu penting", "id"),  # "both"
        ("Tôi nghĩ cả hai đều quan trọng", "vi"),  # "both"
        ("둘 다 중요합니다", "ko"),  # "both"
        ("답: 둘 다", "ko"),
        ("我会选择一个中间的答案", "zh"),  # 一个 = "a"
        ("我会选择一个选项", "zh"),
        ("ข้อห้ามนี้สำคัญมาก", "th"),  # ข้อห้าม = "prohibition", not ข้อ + ห้า
        ("मुझे थोड़ा समय दो", "hi"),  # दो = "give"
        ("उत्तर दो", "hi"),  # "give an answer"
        ("مجھے تھوڑا وقت دو", "ur"),  # دو = "give"
        ("Family is my number one priority", "en"),
        ("There is not one option that fits me", "en"),
        ("Здесь нет ни одного ответа, есть один вариант мнения", "ru"),
        ("答えは一番大切なことです", "ja"),  # 一番 = "the most"
        ("家族は二番目に大切です", "ja"),  # "second most important"
        ("一つ目の理由は家族です", "ja"),  # "the first reason"
        ("उत्तर: तीनों", "hi"),  # तीनों = "all three": a vowel sign continues the word
    ],
)
def test_ordinary_words_are_not_read_as_numbers(text, language):
    found = extract_choice(text, language, LABELS)
    assert found.choice is None and found.status == "no_answer", found


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Option three.", "en", 3),
        ("Answer: **four**", "en", 4),
        ("The answer is two", "en", 2),
        ("I'd pick the fifth", "en", 5),
        ("Antwort: vier", "de", 4),
        ("La réponse est deux", "fr", 2),
        ("The second option.", "en", 2),
        ("La primera opción", "es", 1),
        ("Ich wähle die erste Möglichkeit, weil", "de", 1),
        ("Мой ответ: третий", "ru", 3),
        ("Tres - label beta", "es", 3),  # number word right before the matching option text
        ("İKİ", "tr", 2),
        ("Jawaban saya adalah pilihan kedua", "id", 2),
        ("Chaguo la pili", "sw", 2),
        ("الإجابة: الخامس", "ar", 5),
        ("خمسة", "ar", 5),
        ("إجابتي هي الثالثة", "ar", 3),
        ("الخيار الثَّالِث", "ar", 3),  # with vowel marks
        ("گزینه سوم", "fa", 3),
        ("آپشن چار", "ur", 4),
        ("جواب: دو", "ur", 2),
        ("उत्तर: दो", "hi", 2),
        ("विकल्प तीन", "hi", 3),
        ("मैं तीसरा चुनूंगा", "hi", 3),
        ("第三个选项", "zh", 3),
        ("选项四。", "zh", 4),
        ("我选第二。", "zh", 2),
        ("答案是五", "zh", 5),
        ("三番目を選びます", "ja", 3),
        ("答えは三です", "ja", 3),
        ("ตัวเลือกที่สองครับ", "th", 2),
        ("ข้อห้า", "th", 5),
        ("ข้อห้า เพราะว่าสำคัญ", "th", 5),
        ("ห้า", "th", 5),
        ("답: 셋", "ko", 3),
        ("세 번째", "ko", 3),
        ("세 번째 선택지를 고르겠습니다", "ko", 3),
        ("Tôi chọn phương án thứ hai", "vi", 2),
    ],
)
def test_number_words_in_context_are_read(text, language, expected):
    found = extract_choice(text, language, LABELS)
    assert (found.choice, found.status, found.method) == (expected, "ok", "word")


def test_composed_and_decomposed_spellings_read_the_same():
    composed = "উত্তর: দ্বিতী\u09df"  # য় as one code point
    decomposed = "উত্তর: দ্বিতী\u09af\u09bc"  # য + nukta
    assert composed != decomposed
    assert extract_choice(composed, "bn").choice == extract_choice(decomposed, "bn").choice == 2


def test_a_number_word_picks_among_option_texts_it_directly_precedes():
    assert extract_choice("Three: label beta, not label alpha", "en", LABELS).choice == 3
    assert extract_choice("label beta, not label alpha", "en", LABELS).status == "ambiguous"


@pytest.mark.parametrize(
    "text",
    [
        "option two, or maybe option four",
        "Option two or four",  # the alternative is not cued, but it is not nothing either
        "Option two: label alpha",  # the number word and the option text disagree
        "选项二还是选项四",  # 二 runs on into 还是, yet is a second choice
        "选项二还是四",
    ],
)
def test_two_different_choices_of_equal_strength_are_ambiguous(text):
    found = extract_choice(text, "en" if text.isascii() else "zh", LABELS)
    assert found.choice is None and found.status == "ambiguous"


def test_digits_outrank_number_words():
    assert extract_choice("One of the most important: 2", "en").choice == 2


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


def test_every_prompt_language_has_cued_number_words_each_naming_one_value():
    assert set(number_words()) == set(frames())
    for language, spec in number_words().items():
        assert spec.cues, language
        words = [w for ws in spec.words.values() for w in ws]
        assert len(words) == len(set(words)), language
