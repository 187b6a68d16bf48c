import os
import re

import pytest
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.options import OPTION_SPECS, XlnerOptions, markdown_table, options_hash, values

ROOT = os.path.join(os.path.dirname(__file__), "..")


def test_docs_options_table_is_generated_from_the_specs():
    with open(os.path.join(ROOT, "docs", "OPTIONS.md"), encoding="utf-8") as f:
        assert markdown_table() in f.read(), "run: python -m pipeline.options > docs/OPTIONS.md"


@pytest.mark.parametrize("flag, expected", [("--no_overwrite", True),
                                            ("--no_overwrite=true", True),
                                            ("--no_overwrite=false", False)])
def test_booleans_accept_bare_flags_and_template_style_values(flag, expected):
    assert PipelineOptions([flag]).view_as(XlnerOptions).no_overwrite is expected


def test_defaults_validate_against_their_own_template_regexes():
    for spec in OPTION_SPECS:
        if spec.regex:
            value = str(spec.default).lower() if spec.type is bool else str(spec.default)
            assert re.fullmatch(spec.regex, value), spec.name


def test_options_hash_ignores_run_id_and_output_only():
    base = values(PipelineOptions([]))
    assert options_hash(base) == options_hash(dict(base, run_id="x", output="/elsewhere"))
    assert options_hash(base) != options_hash(dict(base, align_layer=6))
