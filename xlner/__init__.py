"""xlner: the pure algorithms of annotation projection for cross-lingual NER.

Nothing in this package imports Apache Beam: records, BIO handling, word splitting,
alignment extraction, projection and metrics are plain Python/numpy so they are easy to
read, test and reuse. The Beam graph lives in the `transforms` and `pipeline` packages.
"""

__version__ = "0.2.0"
