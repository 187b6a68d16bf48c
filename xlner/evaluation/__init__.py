"""Evaluation: entity-level metrics, scoring of methods against gold (with bootstrap
intervals) and the evaluation report. No Beam, no models."""
