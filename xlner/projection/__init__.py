"""The projection algorithms: alignment matrices and link extraction, target candidates,
span scores, matching (ILP / greedy), the alignment heuristic, EasyProject markers, the
projectors that combine them, the paper's method registry and the corpus filters. Plain
Python and numpy; no Beam, no model code, no file formats."""
