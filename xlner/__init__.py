"""xlner: annotation projection for cross-lingual NER, without Beam.

Nothing in this package imports Apache Beam; the graph lives in ``transforms`` (the
PTransforms, DoFns and model handlers) and ``pipeline`` (options, entry points). What is
where:

* ``xlner.projection`` - the algorithms: alignment matrices and links, candidates, span
  scores, matching, the heuristic, EasyProject, projectors, the method registry, filters.
* ``xlner.text`` - word splitting, BIO/IOB2 tags, language codes.
* ``xlner.formats`` - typed records, input readers, the Parquet schema, the dataset card,
  the run summary, translation-cache entries.
* ``xlner.storage`` - the guarded file layer, leases, the publication protocol.
* ``xlner.evaluation`` - metrics, scoring against gold, the report.
* ``xlner.models`` - loading, fingerprinting and running models (torch, transformers,
  CTranslate2 are imported only where a model is loaded).
* ``xlner.defaults`` (every default, once) and ``xlner.precision`` (the stored precision of
  scores), used across all of them.
"""

__version__ = "0.2.0"
