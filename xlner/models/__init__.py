"""Models: the one loader every model goes through (no remote code, weights checked and
fingerprinted), translators (transformers, CTranslate2, the embedded Marian), the alignment
encoder, the NER tagger, batching by tokens, and the runtime signature in cache keys. ML
frameworks are imported inside the functions that load a model, never at import time."""
