import pytest

from xlner.text import detokenize, split_words, writes_without_spaces


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
