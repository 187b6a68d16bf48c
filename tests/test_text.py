import pytest

from xlner.text.words import detokenize, split_words, writes_without_spaces


@pytest.mark.parametrize("text, words", [
    ("Angela Merkel visitou Paris na segunda-feira.",
     ["Angela", "Merkel", "visitou", "Paris", "na", "segunda-feira", "."]),
    ("Custa US$ 1,000.50 às 12:30!", ["Custa", "US", "$", "1,000.50", "às", "12:30", "!"]),
    ("d'água, l’homme", ["d'água", ",", "l’homme"]),
    ("मैं दिल्ली में रहता हूँ।", ["मैं", "दिल्ली", "में", "रहता", "हूँ", "।"]),  # marks stay in words
    ("Он живёт в Москве.", ["Он", "живёт", "в", "Москве", "."]),
    ("東京に住む", ["東", "京", "に", "住", "む"]),  # one word per character, as PAN-X
    ("กินข้าว", ["กิ", "น", "ข้", "า", "ว"]),  # graphemes: vowel marks stay attached
    ("\"Quote\" 👍🏽 ok", ['"', "Quote", '"', "👍🏽", "ok"]),
    ("  ", []),
])
def test_split_words_and_offsets(text, words):
    got, offsets = split_words(text)
    assert got == words
    assert [text[a:b] for a, b in offsets] == got


def test_detokenize_handles_plain_quotes_and_punctuation():
    toks = ["Angela", "Merkel", ",", "the", '"', "chancellor", '"', ",", "visited", "Paris",
            "(", "France", ")", "."]
    assert detokenize(toks) == 'Angela Merkel, the "chancellor", visited Paris (France).'
    assert detokenize(["I", "do", "n't", "know", "."]) == "I don't know."


def test_languages_without_spaces_are_concatenated():
    assert writes_without_spaces("zho_Hans") and writes_without_spaces("tha_Thai")
    assert not writes_without_spaces("por_Latn")
    assert detokenize(["東", "京"], "jpn_Jpan") == "東京"


# ---------------------------------------------------------------- letters that are kept
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
import regex  # noqa: E402

from xlner.text.words import JOINERS  # noqa: E402

ZWJ, ZWNJ = "\u200d", "\u200c"


@pytest.mark.parametrize("text, words", [
    # Sinhala "Sri Lanka": ශ්‍රී is SHA, virama, ZWJ, RA, vowel sign II (the rakaransaya)
    ("ශ්\u200dරී ලංකාව", ["ශ්\u200dරී", "ලංකාව"]),
    # Persian "I want": the prefix می is joined to the verb by a ZWNJ, never a space
    ("من می\u200cخواهم بروم", ["من", "می\u200cخواهم", "بروم"]),
    # Hindi: KA, virama, ZWJ, SSA (the half form of क्ष)
    ("क्\u200dष", ["क्\u200dष"]),
    # Malayalam old chillu encoding: NA, virama, ZWJ ends the word അവന്‍ ("he")
    ("അവന്\u200d വന്നു", ["അവന്\u200d", "വന്നു"]),
    # Bengali র‍্যাব: RA, ZWJ, virama, YA (the ya-phala after RA); a soft hyphen inside a
    # German compound
    ("র\u200d্যাব Donau\u00addampfschiff", ["র\u200d্যাব", "Donau\u00addampfschiff"]),
    # a zero-width SPACE does separate words (Khmer, Myanmar); a lone joiner is no word
    ("a\u200bb \u200d c", ["a", "b", "c"]),
])
def test_joiners_stay_inside_the_words_they_spell(text, words):
    got, offsets = split_words(text)
    assert got == words
    assert [text[a:b] for a, b in offsets] == got
    assert all(w.encode("utf-8") in text.encode("utf-8") for w in got)


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_words_are_exact_substrings_and_only_space_or_format_characters_are_dropped(text):
    words, offsets = split_words(text)
    assert [text[a:b] for a, b in offsets] == words
    assert all(b <= a2 for (_, b), (a2, _) in zip(offsets, offsets[1:]))
    covered = {i for a, b in offsets for i in range(a, b)}
    assert all(regex.fullmatch(r"[\s\p{Cf}]", c) for i, c in enumerate(text)
               if i not in covered)


_WORD = st.tuples(st.sampled_from("ab1२ශරම東ไ"), st.text(alphabet="ab1२ශ්රීمیخ東ไ\u0301",
                                                              max_size=3),
                  st.text(alphabet=JOINERS, max_size=2)).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(_WORD, st.text(alphabet=".-' \u200b,:!", min_size=1, max_size=2)),
                max_size=8).map("".join))
def test_joiners_never_make_or_remove_a_word_boundary(text):
    """The words with their joiners taken out are the words of the text without them."""
    def plain(s):
        return "".join(c for c in s if c not in JOINERS)

    words, _ = split_words(text)
    assert [plain(w) for w in words if plain(w)] == split_words(plain(text))[0]
