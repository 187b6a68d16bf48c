"""Beam PTransforms, DoFns and RunInference model handlers of the xlner-beam jobs."""
