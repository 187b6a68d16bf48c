"""Our batched alignments equal the simalign package's SentenceAligner on the same model.

simalign aligns one pair per call with its own embedding code; we encode pairs in padded
batches, in windows, running only the needed layers. The extracted word alignments must
be identical (argmax = simalign "inter", itermax, mwmf) with the embedded encoder.
"""

import pytest
from simalign import SentenceAligner

from xlner.projection import alignment
from xlner.models.encoders import WordPairEncoder

PAIRS = [
    ("Angela Merkel visited Paris on Monday .", "Angela Merkel visitou Paris na segunda-feira ."),
    ("The European Union is based in Brussels .", "A União Europeia está sediada em Bruxelas ."),
    ("Merkel lives in Berlin .", "Merkel wohnt in Berlin ."),
    ("John works for Google in New York .", "John arbeitet für Google in New York ."),
    ("Jesus went to Galilee with Peter .", "Ὁ Ἰησοῦς ἀπῆλθεν εἰς τὴν Γαλιλαίαν μετὰ Πέτρου"),
    ("Moscow is the capital of Russia .", "Москва — столица России ."),
    ("Nairobi is the capital of Kenya .", "Nairobi ni mji mkuu wa Kenya ."),
    ("Beijing is the capital of China .", "北 京 是 中 国 的 首 都 。"),
    ("Maria Silva was born in Lisbon and studied at the University of Coimbra .",
     "Maria Silva nasceu em Lisboa e estudou na Universidade de Coimbra ."),
    ("The World Health Organization warned about a new virus in Asia .",
     "A Organização Mundial da Saúde alertou sobre um novo vírus na Ásia ."),
    ("a", "b c"),
    ("Kofi Annan , Ghana", "Kofi Annan , Gana"),
]


@pytest.mark.slow
@pytest.mark.parametrize("layer", [6, 8])
def test_alignments_equal_simalign_sentence_aligner(e5_dir, layer):
    reference = SentenceAligner(model=e5_dir, token_type="bpe", matching_methods="aim",
                                layer=layer)
    ours = WordPairEncoder(e5_dir, layer)
    split = [(s.split(), t.split()) for s, t in PAIRS]
    sims = ours.similarities(split)  # all pairs in one padded batch
    for (src, tgt), sim in zip(split, sims):
        ref = reference.get_word_aligns(src, tgt)
        for theirs, mine in (("inter", "argmax"), ("itermax", "itermax"), ("mwmf", "mwmf")):
            assert alignment.extract(sim, mine) == tuple(map(tuple, ref[theirs])), \
                (layer, mine, src, tgt)
