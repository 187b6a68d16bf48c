"""Options: declared once in groups, each job parses and shows exactly its own."""

import dataclasses
import os
import re
import subprocess
import sys

import pytest

from pipeline.launch import main_of
from pipeline.options import (JOBS, ConfigError, EvaluateOptions, RunOptions, _beam_parser,
                              options_document, options_hash, parse_args, specs)

ROOT = os.path.join(os.path.dirname(__file__), "..")
EVAL_ONLY = {"dataset", "data_dir", "data_pattern", "split", "langs", "methods", "span_only",
             "examples_per_method"}
RUN_ONLY = {"publish", "publish_min_rows", "target_langs", "source_lang", "projection",
            "matching", "align_method", "align_direction", "label_source", "gold_tags_field"}


def names(job):
    return {s.name for s in specs(JOBS[job].options)}


def test_each_job_has_exactly_its_own_options():
    assert names("run") & EVAL_ONLY == set() and RUN_ONLY <= names("run")
    assert names("evaluate") & RUN_ONLY == set() and EVAL_ONLY <= names("evaluate")
    shared = names("run") & names("evaluate")
    assert {"input", "output", "translation_model", "alignment_model", "ner_model",
            "paper_quirks", "device"} <= shared


def test_no_option_collides_with_a_beam_option():
    beam = {a.dest for a in _beam_parser()._actions}
    assert (names("run") | names("evaluate")) & beam == set()


def test_docs_options_file_is_generated_from_the_declarations():
    with open(os.path.join(ROOT, "docs", "OPTIONS.md"), encoding="utf-8") as f:
        assert f.read() == options_document(), "run: python -m pipeline.options > docs/OPTIONS.md"


@pytest.mark.parametrize("flag, expected", [("--no_overwrite", True),
                                            ("--no_overwrite=true", True),
                                            ("--no_overwrite=false", False)])
def test_booleans_accept_bare_flags_and_template_style_values(flag, expected):
    opts, _ = parse_args(JOBS["run"], [flag])
    assert opts.no_overwrite is expected


def test_options_are_frozen_and_typed():
    opts, beam_args = parse_args(JOBS["run"], ["--n_proj", "2", "--runner=FnApiRunner"])
    assert isinstance(opts, RunOptions) and opts.n_proj == 2 and beam_args == [
        "--runner=FnApiRunner"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.n_proj = 7


@pytest.mark.parametrize("job, argv, message", [
    ("run", ["--model", "facebook/nllb-200-3.3B"],
     "unknown option --model; did you mean --translation_model or"),
    ("run", ["--target_lang=swh_Latn"], "did you mean --target_langs"),
    ("run", ["--methods=all"], "--methods is an option of pipeline.evaluate"),
    ("evaluate", ["--publish"], "--publish is an option of pipeline.run"),
    ("evaluate", ["--target_langs=swh_Latn"], "--target_langs is an option of pipeline.run"),
    ("run", ["--n_proj=six"], "--n_proj must be a whole number from 1 to 99"),
    ("run", ["--projection=magic"], "invalid choice"),
    ("run", ["stray"], "unexpected argument 'stray'"),
])
def test_mistakes_are_one_clear_line(job, argv, message):
    with pytest.raises(ConfigError) as e:
        parse_args(JOBS[job], argv)
    assert message in str(e.value) and "\n" not in str(e.value)


def test_beam_runner_options_pass_through():
    _, beam_args = parse_args(JOBS["run"], ["--runner", "DataflowRunner", "--project=p",
                                            "--region", "us-central1"])
    assert beam_args == ["--runner", "DataflowRunner", "--project=p", "--region",
                         "us-central1"]


def test_entry_point_exits_2_with_one_line_on_a_mistake(capsys):
    code = main_of(lambda argv: parse_args(JOBS["run"], argv) and 0)(["--model=x"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and err.startswith("xlner: error: unknown option")


@pytest.mark.parametrize("job", sorted(JOBS))
def test_help_lists_exactly_the_jobs_options_grouped_with_defaults(job):
    res = subprocess.run([sys.executable, "-m", JOBS[job].command, "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    flags = set(re.findall(r"^\s+--(\w+)", res.stdout, re.M)) - {"help", "help_beam"}
    assert flags == names(job)
    assert "--temp_location" not in res.stdout  # Beam's options are behind --help_beam
    assert "Translation:" in res.stdout and "(default: 32)" in res.stdout


def test_defaults_validate_against_their_own_template_regexes():
    for cls in (RunOptions, EvaluateOptions):
        for spec in specs(cls):
            if spec.template_regex:
                assert re.fullmatch(spec.template_regex, spec.default_text), spec.name


def test_options_hash_ignores_run_id_and_output_only():
    base, _ = parse_args(JOBS["run"], [])
    assert options_hash(base) == options_hash(dataclasses.replace(base, run_id="x",
                                                                  output="/elsewhere"))
    assert options_hash(base) != options_hash(dataclasses.replace(base, align_layers="6"))


def test_paper_defaults_set_the_papers_settings_unless_given():
    measured, _ = parse_args(JOBS["run"], [])
    assert (measured.projection, measured.matching, measured.align_layers) == (
        "ngram", "ilp", "6-11")
    paper, _ = parse_args(JOBS["run"], ["--paper_defaults"])
    assert (paper.projection, paper.matching, paper.align_layers, paper.align_method,
            paper.link_weighting, paper.paper_quirks) == ("heuristic", "greedy", "8",
                                                          "itermax", "count", True)
    mixed, _ = parse_args(JOBS["run"], ["--paper_defaults", "--align_layers=6"])
    assert mixed.align_layers == "6" and mixed.projection == "heuristic"
    ev, _ = parse_args(JOBS["evaluate"], ["--paper_defaults"])
    assert ev.align_layers == "8" and ev.link_weighting == "count" and ev.paper_quirks


# ---------------------------------------------------------------- numeric values
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# Every option whose value is or holds a number; each must declare a check.
NUMERIC = sorted({s.name for job in JOBS.values() for s in specs(job.options)
                  if s.type in (int, float)} | {"score_weights", "entity_ratio_bounds",
                                                  "length_ratio_bounds", "align_layers",
                                                  "device", "accelerator", "inference_min_ram"})
ODD = ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "-1", "-0", "-0.5", "0", "0.0", "1e3",
       "1e309", "1E-3", "0x10", "", " 1", "1 ", "+1", "١", "１", "1_000", "9" * 400,
       "0.5.5", "true", "007", ".5", "5.", "1,2", "2,1", "nan,1", "0,inf", "-1,2",
       "align=nan", "align=-1", "align=0", "align=1,align=2", "ner=1e3", "align=0.5,ner=0.5",
       "6-11", "0", "0-3", "9-3", "6,6", "1000", "2", "cuda:0", "cuda:-1", "gpu", "0GB",
       "32GB", "1.5 GiB", "-1GB", "nanGB", "type:nvidia-l4;count:0",
       "type:nvidia-l4;count:1", "type:nvidia-l4;count:nan"]
VALUES = st.one_of(st.sampled_from(ODD), st.floats().map(repr), st.integers().map(str),
                   st.text(max_size=8), st.lists(st.sampled_from(ODD), min_size=2,
                                                 max_size=3).map(",".join))


def job_with(name):
    return next(j for j in JOBS.values() if name in {s.name for s in specs(j.options)})


def spec_of(name):
    return next(s for s in specs(job_with(name).options) if s.name == name)


def test_every_numeric_option_declares_its_check():
    assert [n for n in NUMERIC if spec_of(n).check is None] == []


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(NUMERIC), value=VALUES)
def test_odd_numeric_values_are_refused_at_parse_time_naming_the_option(name, value):
    """A value is either refused with one line naming its option, or it is a finite value
    in the declared range that the Flex template's regex accepts too (and vice versa)."""
    import math

    spec = spec_of(name)
    template = re.fullmatch(spec.template_regex, value) is not None
    try:
        opts, _ = parse_args(job_with(name), [f"--{name}={value}"])
    except ConfigError as e:
        assert str(e).startswith(f"--{name}") and "\n" not in str(e)
        if spec.check.exact_template:  # the template refuses exactly what the job does
            assert not template, (name, value)
        return
    got = getattr(opts, name)
    assert template, (name, value)
    if isinstance(got, float):
        assert math.isfinite(got) and got >= 0
    if isinstance(got, int):
        assert got >= 0 and not isinstance(got, bool)


@pytest.mark.parametrize("name", NUMERIC)
def test_a_programmatic_value_is_checked_too(name):
    base, _ = parse_args(job_with(name), [])
    bad = {int: -1, float: float("nan"), str: "nan"}[spec_of(name).type]
    with pytest.raises(ConfigError, match=f"--{name}"):
        dataclasses.replace(base, **{name: bad})


@pytest.mark.parametrize("name", ["accelerator", "score_weights", "run_id", "input",
                                  "min_entity_score"])
def test_a_double_dash_value_is_refused_not_dropped(name):
    """argparse strips a value of exactly "--"; the job must not run without the option."""
    with pytest.raises(ConfigError, match=f"^--{name} must be given a value"):
        parse_args(JOBS["run"], [f"--{name}=--"])
