"""One source of defaults (``xlner/defaults.py``): the library called without arguments
does what the job does without flags, so a benchmark or test that builds a projector, a
method, an encoder or a batching transform directly runs the configuration the job runs."""

import dataclasses
import inspect

import pytest

from pipeline.config import EvalConfig, RunConfig, projection_settings
from pipeline.options import JOBS, parse_args
from transforms.align import Align
from transforms.ner import LabelSentences, TagTargets, TagWords
from transforms.translate import TranslateTexts
from xlner import defaults
from xlner.projection.methods import Method
from xlner.models.encoders import WordPairEncoder, as_layers
from xlner.projection.projectors import (CandidateProjector, HeuristicProjector, ProjectionSettings,
                              build_projector)


def _parsed(job, *argv):
    return parse_args(JOBS[job], list(argv))[0]


def _default(callable_, name):
    return inspect.signature(callable_).parameters[name].default


def test_the_job_without_flags_runs_the_librarys_no_argument_projector():
    cfg = RunConfig.from_options(_parsed("run"))
    assert cfg.method == Method.of()
    assert cfg.projector == build_projector() == CandidateProjector()
    assert projection_settings(cfg.opts) == ProjectionSettings()
    assert cfg.projector.describe() == CandidateProjector().describe()


@pytest.mark.parametrize("job", ["run", "evaluate"])
def test_every_projection_setting_of_the_options_is_the_librarys_default(job):
    assert projection_settings(_parsed(job)) == ProjectionSettings()


def test_the_heuristic_without_flags_is_the_librarys_no_argument_heuristic():
    cfg = RunConfig.from_options(_parsed("run", "--projection=heuristic"))
    assert cfg.projector == HeuristicProjector() == build_projector(Method.of("heuristic"))


def test_evaluation_builds_its_candidate_methods_with_the_same_settings():
    cfg = EvalConfig.from_options(_parsed("evaluate", "--langs=ell_Grek",
                                          "--methods=Cg-s-S+ilp"))
    ((method, projector),) = cfg.methods
    assert projector == CandidateProjector(matching=method.matching,
                                           align_method=method.align_method)


def test_the_alignment_defaults_are_the_encoders_and_the_transforms():
    opts = _parsed("run")
    assert as_layers(opts.align_layers) == as_layers(_default(WordPairEncoder, "layer"))
    assert opts.align_method == HeuristicProjector().align_method == Method.of().align_method
    assert opts.align_batch_size == _default(Align, "batch_size")
    assert opts.align_batch_tokens == _default(Align, "batch_tokens")
    encode = RunConfig.from_options(opts).models.align(["itermax"])._encode
    assert encode._handler._layers == as_layers(defaults.ALIGN_LAYERS)  # the job's encoder
    assert encode._args[2:] == (defaults.ALIGN_BATCH_SIZE, defaults.ALIGN_BATCH_TOKENS)
    assert opts.translation_batch_size == _default(TranslateTexts, "batch_size")
    assert opts.translation_batch_tokens == _default(TranslateTexts, "batch_tokens")
    for transform in (TagWords, TagTargets, LabelSentences):
        assert opts.ner_batch_size == _default(transform, "batch_size")


def test_each_option_default_that_the_library_also_has_is_declared_in_xlner_defaults():
    """The class, not the instance: every option whose name is a field of the library's
    settings or projectors takes its default from the same constant."""
    opts = _parsed("run")
    library = {f.name: f.default for cls in (ProjectionSettings, CandidateProjector,
                                             HeuristicProjector)
               for f in dataclasses.fields(cls)}
    shared = {"merge_distance", "length_ratio_threshold", "n_proj", "ner_subranges",
              "link_weighting", "paper_quirks", "matching", "align_method"}
    assert shared <= library.keys() & set(dataclasses.asdict(opts))
    for name in shared:
        assert getattr(opts, name) == library[name] == getattr(defaults, name.upper()), name
