"""Target NER, projection and model sharing as composites (TestPipeline + assert_that over
fake models): failures dead-lettered alone, step labels that name the method."""

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from tests.fakes import FAIL, FakeNERHandler, test_pipeline
from tests.helpers import make_pair
from transforms.deadletter import DEAD
from transforms.ner import TagTargets
from transforms.project import ProjectPairs
from xlner.projection.methods import Method
from xlner.projection.projectors import build_projector
from xlner.formats.records import Span


def test_a_failing_sentence_is_dead_lettered_alone_and_its_batch_is_kept():
    pairs = [make_pair(f"p{i}", "eng_Latn", "por_Latn", ["Ana"], [Span(0, 1, "PER")],
                       ["Ana", "mora", "em", "Lisboa"]) for i in range(3)]
    pairs.append(make_pair("bad", "eng_Latn", "por_Latn", ["Ana"], [Span(0, 1, "PER")],
                           ["Ana", FAIL]))
    with test_pipeline() as p:
        res = (p | beam.Create(pairs)
               | TagTargets(FakeNERHandler("fake"), batch_size=64))  # one batch for all
        assert_that(res.ok | beam.Map(lambda q: (q.id, q.tgt_spans)),
                    equal_to([(f"p{i}", (Span(0, 1, "PER"), Span(3, 4, "PER")))
                              for i in range(3)]), label="tagged")
        assert_that(res.dead | beam.Map(lambda d: (d.stage, d.reason, d.record_id)),
                    equal_to([("ner", "ner_failed", "bad")]), label="dead")


def test_project_pairs_labels_each_method_and_routes_projection_failures():
    mt = Method("model_transfer")
    with_spans = make_pair("a", "eng_Latn", "por_Latn", ["Ana"], [Span(0, 1, "PER")],
                           ["Ana", "mora"], tgt_spans=(Span(0, 1, "PER"),))
    without = make_pair("b", "eng_Latn", "por_Latn", ["Ana"], [Span(0, 1, "PER")], ["Ana"])
    p = test_pipeline()
    out = p | beam.Create([with_spans, without]) | "Methods" >> ProjectPairs(
        [(mt, build_projector(mt))])
    assert_that(out["MT"] | beam.Map(lambda x: (x.pair.id, x.method, x.tags)),
                equal_to([("a", "MT", ("B-PER", "O"))]), label="projected")
    assert_that(out[DEAD] | beam.Map(lambda d: (d.stage, d.reason, d.record_id)),
                equal_to([("project", "projection_failed", "b")]), label="dead")
    labels = set()

    class Labels(beam.pipeline.PipelineVisitor):
        def enter_composite_transform(self, node):
            labels.add(node.full_label)

    p.visit(Labels())
    assert "Methods/Project[MT]" in labels
    p.run().wait_until_finish()


def test_aligning_methods_without_an_alignment_stage_are_refused():
    m = Method("heuristic", align_method="argmax")
    with pytest.raises(ValueError, match="alignment stage"):
        ProjectPairs([(m, build_projector(m))])


def test_steps_of_one_job_share_a_model_and_two_jobs_never_do():
    from pipeline.config import RunConfig
    from pipeline.options import JOBS, parse_args

    opts, _ = parse_args(JOBS["run"], [])
    one, other = RunConfig.from_options(opts), RunConfig.from_options(opts)

    def ident(cfg):
        return cfg.models.translate_texts().model_identifier

    assert ident(one) == ident(one)  # forward and back translation: one model
    assert ident(one) != ident(other)  # Beam shares by identifier machine-wide
    assert one.models.tagger().model_identifier == one.models.tagger(True).model_identifier
