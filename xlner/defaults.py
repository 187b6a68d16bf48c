"""The defaults of the method, declared once.

The job's options (``pipeline/options.py``) take their defaults from here, and so do the
library's constructors (:meth:`xlner.projection.methods.Method.of`,
:class:`xlner.projection.projectors.ProjectionSettings`, the projectors, :func:`build_projector`,
the encoder and the batching transforms), so a benchmark or a test that builds a projector
without arguments runs what the job runs without flags (``tests/test_defaults.py``
compares the two). The library never imports the pipeline; the options layer reads the
library, not the other way round.

The values were chosen on Matthew and reported on Mark (``benchmarks/bible_dev.py``,
docs/QUALITY.md); the paper's own configuration is ``--paper_defaults``.
"""

from __future__ import annotations

from typing import Optional

# ---------------------------------------------------------------- the projection method
CANDIDATES = "ngram"  # candidate extraction: all n-grams (the paper's "dummy")
PROJECTION = CANDIDATES  # candidate matching over n-grams
MATCHING = "ilp"  # the exact ILP (the paper: greedy "argmax")
ALIGN_METHOD = "itermax"  # SimAlign's iterative mutual argmax
ALIGN_DIRECTION = "src2tgt"

# ---------------------------------------------------------------- projection settings
MERGE_DISTANCE = 1  # heuristic: merge aligned runs at most this many words apart
LENGTH_RATIO_THRESHOLD = 0.8  # heuristic: keep a run when len(run)/len(entity) > this
OVERWRITE = True  # heuristic: later entities overwrite earlier labels (the paper)
PAPER_QUIRKS = False
MAX_CANDIDATE_WORDS: Optional[int] = None  # None: all n-grams (30 without spaces)
N_PROJ = 1  # projections per source entity
NER_SUBRANGES = False
SCORE_WEIGHTS = (("align", 1.0),)  # the paper's alignment score alone
LINK_WEIGHTING = "similarity"  # each link weighs its similarity (the paper: "count")
# A candidate longer than its source entity scores (entity words / candidate words) ** this:
# an English name projected onto article + name or name + verb loses to the name alone
# (chosen on Matthew: 0.45, 0.6 and 0.8 tie at 97.12 F1 there, above 0.3's 96.96 and
# 0's 96.30; 0.6 is the middle of that plateau. The paper: 0, no prior).
LENGTH_PRIOR = 0.6
# Candidate matching stores the calibrated confidence as the entity's score (the raw
# matching score stays as alignment_score); False stores the raw score there too.
CALIBRATED = True

# ---------------------------------------------------------------- the encoder and batches
ALIGN_LAYERS = "6-11"  # hidden layers 6..11 concatenated (the paper: 8)
ALIGN_BATCH_SIZE = 64
ALIGN_BATCH_TOKENS = 16384
TRANSLATION_BATCH_SIZE = 32  # the paper's batch
TRANSLATION_BATCH_TOKENS = 8192
NER_BATCH_SIZE = 64
NER_BATCH_TOKENS = 16384

# ---------------------------------------------------------------- the dataset card
# The licence the card declares when --license is not given (a Hub licence id, e.g.
# cc-by-4.0): the job cannot know the input's terms, so it claims none.
LICENSE = "unknown"
