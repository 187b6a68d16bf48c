"""Running the job in tests and reading what it wrote."""

from __future__ import annotations

import json
import os

import pyarrow.parquet as pq

from pipeline.run import run
from xlner.formats.schema import decoded_rows


def run_job(output, *args, runner="FnApiRunner"):
    """Run the translate-train job in-process and return (summary, rows by lang, dead)."""
    run([f"--output={output}", f"--runner={runner}", *args])
    return read_outputs(output)


def listed_files(output, kind):
    """The files of ``kind`` that the run's manifest.json in ``output`` lists."""
    with open(os.path.join(output, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    skip = len(manifest["base"]) + 1 if manifest["base"] else 0
    return [(f.get("lang"), os.path.join(output, f["path"][skip:]))
            for f in manifest["files"] if f["kind"] == kind]


def read_outputs(output):
    """(summary, rows by language with tags as strings, dead letters) of a finished run:
    the files its manifest lists (a foreign file in the folder is not the run's)."""
    with open(os.path.join(output, "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    rows = {lang: [] for lang in summary["languages"]}
    for lang, path in sorted(listed_files(output, "shard")):
        rows[lang] += decoded_rows(pq.read_table(path))
    dead = []
    for _, path in sorted(listed_files(output, "dead_letter")):
        with open(path, encoding="utf-8") as fh:
            dead += [json.loads(line) for line in fh if line.strip()]
    return summary, rows, dead


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n")
    return str(path)


def small_job_args(folder, tiny_bert, rows: int = 3) -> list[str]:
    """A small given-translation input and the tiny aligner: a real job in seconds."""
    data = write_jsonl(os.path.join(str(folder), "in.jsonl"), [
        {"id": f"r{i}", "tokens": ["Ana", "mora", "em", "Lisboa"],
         "ner_tags": ["B-PER", "O", "O", "B-LOC"],
         "translation_tokens": ["Ana", "lives", "in", "Lisbon"]} for i in range(rows)])
    return [f"--input={data}", f"--alignment_model={tiny_bert}", "--align_layers=2",
            "--share_models=false"]


def make_pair(id, src_lang, tgt_lang, src_words, src_spans, tgt_words, **target):
    """A SentencePair over a given translation (``target``: tgt_spans, tgt_word_probs)."""
    from xlner.formats.records import SentencePair

    return SentencePair.given(id, src_lang, tgt_lang, src_words, src_spans, tgt_words,
                              **target)


def project(projector, aligned):
    """A projector's (tags, spans) for an AlignedPair (entities reduced to their spans)."""
    from xlner.projection.projectors import project_aligned

    tags, entities = project_aligned(projector, aligned)
    return tags, tuple(getattr(e, "span", e) for e in entities)


def one_line_error(capsys, argv, code=2):
    """Run ``pipeline.run`` and return its one ``xlner:`` error line (exit ``code``)."""
    from pipeline.run import main

    got = main(argv)
    err = capsys.readouterr().err.strip()
    assert got == code, err
    lines = [line for line in err.splitlines() if line.startswith("xlner:")]
    assert len(lines) == 1 and not any("Traceback" in line for line in err.splitlines())
    return lines[0]
