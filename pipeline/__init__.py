"""Options, entry points and graph assembly of the xlner-beam jobs."""
