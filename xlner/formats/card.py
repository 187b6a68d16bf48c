"""The dataset card (``README.md``) written beside the shards: one ``datasets`` config per
target language, so ``datasets.load_dataset(OUTPUT, "swh_Latn", split="train")`` loads that
language alone, with its typed features, and a page that says how the data was made.
"""

from __future__ import annotations

import json
import os
from typing import Optional, Sequence

from xlner.defaults import LICENSE
from xlner.formats.splits import TRAIN, files_by_split
from xlner.text.languages import NLLB_LANGUAGES

CARD = "README.md"
CARD_MARKER = "- xlner-beam"  # the tag every card of ours carries in its front matter


def _fingerprint_lines(provenance: dict) -> list[str]:
    """The models' files by their fingerprint (the same weights wherever they lie)."""
    found = [(k[:-len("_fingerprint")], v) for k, v in sorted(provenance.items())
             if k.endswith("_fingerprint")]
    return ["- model files: " + "; ".join(f"{option} `{value}`" for option, value in found)
            ] if found else []


def load_line(root: str, lang: str, splits: Sequence[str] = ()) -> str:
    """The line that loads one language: its train split, or all its ``splits`` (a
    DatasetDict) when it has more than train."""
    if set(splits) - {TRAIN}:
        return f'datasets.load_dataset("{root}", "{lang}")'
    return f'datasets.load_dataset("{root}", "{lang}", split="train")'


def written_splits(summary: dict, lang: str) -> list:
    """The splits a language has rows in (``written_by_split``), train alone when the
    summary does not say."""
    entry = (summary.get("languages") or {}).get(lang) or {}
    return list(entry.get("written_by_split") or {TRAIN: entry.get("written", 0)})


def translation_used(summary: dict) -> str:
    """The translation model the run actually used: none when every written row carried
    its translation in the input (``translation_origin`` is ``given`` throughout)."""
    provenance = summary.get("provenance") or {}
    origins: dict = {}
    for entry in (summary.get("languages") or {}).values():
        for origin, n in (entry.get("translation_origin") or {}).items():
            origins[origin] = origins.get(origin, 0) + n
    if origins and set(origins) == {"given"}:
        return "none: every translation was given in the input"
    return f"`{provenance.get('translation_model', '')}`"


def _splits(lang: str, files: list, summary: dict, shard_bytes: dict,
            file_stats: dict) -> list[tuple[str, list, int, int]]:
    """(split, files, rows, bytes) of one language: ``validation-*`` shards are the
    validation split, the rest train; rows and bytes per file from ``file_stats`` (name ->
    (rows, bytes)) when known, else the language's totals on train."""
    by_split = files_by_split(files)
    if set(by_split) <= {TRAIN} or not file_stats:
        rows = (summary.get("languages") or {}).get(lang, {}).get("written", 0)
        return [(TRAIN, files, rows, int(shard_bytes.get(lang, 0)))]
    return [(split, names, sum(file_stats.get(n, (0, 0))[0] for n in names),
             sum(file_stats.get(n, (0, 0))[1] for n in names))
            for split, names in sorted(by_split.items(), key=lambda kv: kv[0] != TRAIN)]


def _yaml_feature(feature) -> dict:
    """One feature of ``xlner.formats.schema.features`` in the card's YAML form, as
    ``datasets.Features._to_yaml_list`` writes it (``datasets`` is not a requirement of
    the job, so this mirrors it; tests/test_card.py reads it back with ``datasets``)."""
    if isinstance(feature, list):  # a list of structs
        return {"list": [{"name": name, **_yaml_feature(f)} for name, f in feature[0].items()]}
    kind = feature.get("_type")
    if kind == "Value":
        return {"dtype": feature["dtype"]}
    if kind == "ClassLabel":
        return {"dtype": {"class_label": {"names": {
            str(i): name for i, name in enumerate(feature["names"])}}}}
    if kind == "Sequence":
        inner = _yaml_feature(feature["feature"])
        return {"sequence": inner["dtype"] if list(inner) == ["dtype"] else inner}
    raise TypeError(f"no card form for the feature {feature!r}")


def _with_features(info: list, label_list) -> list:
    """``dataset_info`` entries with the shards' features (the typed columns and the
    ``ClassLabel`` names), so readers of the card alone (the Hub, ``datasets``' card
    parser) see what the files hold; none without the run's label list."""
    if not label_list:
        return info
    from xlner.formats.schema import features

    typed = [{"name": name, **_yaml_feature(f)} for name, f in features(label_list).items()]
    return [{"config_name": entry["config_name"], "features": typed,
             **{k: v for k, v in entry.items() if k != "config_name"}} for entry in info]


def front_matter(summary: dict, langs: Sequence[str], prefix: str, shard_bytes: dict,
                 shard_files: dict, file_stats: Optional[dict] = None) -> str:
    """The card's YAML, written by ``huggingface_hub``'s ``DatasetCardData``: one config
    per language, and ``dataset_info`` whose splits carry the ``name``, ``num_examples``
    and ``num_bytes`` that ``datasets`` requires (without them every ``load_dataset``
    warns that the splits field is malformed), and the shards' ``features``.
    ``num_bytes`` is the split's Parquet bytes, as is ``download_size``."""
    from huggingface_hub import DatasetCardData  # not at import: --help loads no hub code

    options = summary.get("options") or {}
    configs, info = [], []
    for lang in langs:
        files = sorted(shard_files.get(lang, ())) or [lang + "/*.parquet"]
        splits = _splits(lang, files, summary, shard_bytes, file_stats or {})
        configs.append({"config_name": lang, "data_files": [
            {"split": split, "path": [prefix + f for f in names]}
            for split, names, _, _ in splits]})
        size = sum(b for _, _, _, b in splits)
        info.append({"config_name": lang,
                     "splits": [{"name": split, "num_bytes": b, "num_examples": rows}
                                for split, _, rows, b in splits],
                     "download_size": size, "dataset_size": size})
    data = DatasetCardData(
        language=sorted({code.split("_")[0] for code in langs}),
        license=options.get("license") or LICENSE,
        task_categories=["token-classification"], task_ids=["named-entity-recognition"],
        configs=configs, dataset_info=_with_features(info, summary.get("label_list")),
        tags=["annotation-projection", "xlner-beam"])
    return "---\n" + data.to_yaml() + "\n---\n"


def dataset_card(summary: dict, langs: Sequence[str], data_prefix: str = "",
                 root_hint: Optional[str] = None,
                 shard_bytes: Optional[dict] = None,
                 shard_files: Optional[dict] = None,
                 file_stats: Optional[dict] = None) -> str:
    """The card for the run ``summary`` describes; shard paths are relative to the card's
    folder (``data_prefix`` + ``<lang>/*.parquet``).

    ``shard_files`` (lang -> file names, relative to the card's folder; their names carry
    a digest of their bytes) are listed one by one, and ``dataset_info`` records each
    language's rows and bytes: ``datasets`` caches a named config by name and card alone,
    so a card that did not change with the data would serve a regenerated corpus's old
    rows from that cache. ``root_hint`` is unused in the text (the load snippet names the
    card's folder relatively, so the card reads the same wherever the corpus is copied);
    it is kept for callers.
    """
    prefix = data_prefix.rstrip("/") + "/" if data_prefix else ""
    return "\n".join([front_matter(summary, langs, prefix, shard_bytes or {},
                                   shard_files or {}, file_stats)]
                     + _intro_and_load(summary, langs) + _rows_table(summary, langs)
                     + _how_it_was_made(summary) + _filters_and_columns(summary))


def _intro_and_load(summary: dict, langs: Sequence[str]) -> list[str]:
    """What the data is, its licence and source, and how to load it (relative paths)."""
    options = summary.get("options") or {}
    root = "."  # relative: run Python in the card's folder, or give the folder's path
    splits = written_splits(summary, langs[0]) if langs else [TRAIN]
    return [
        "# Projected NER training data", "",
        "Named-entity annotations projected from labelled sentences onto their "
        "translations by xlner-beam (annotation projection: translate, align, project; "
        "Politov et al., NoDaLiDa 2025). Labels are machine-made: expect "
        "projection noise, and see the per-entity `score` column to filter it.", "",
        "## Source and licence", "",
        f"- licence: `{options.get('license') or LICENSE}` (set by `--license`; the "
        "projected data inherits the terms of its input)",
        "- source: " + (options.get("source_attribution") or "not given (set by "
                        "`--source_attribution`)"),
        "- input files: " + (", ".join(f"`{os.path.basename(str(i).rstrip('/'))}`"
                                       for i in (summary.get("inputs") or [])) or "none"), "",
        "## Load", "", "From this folder (or give its path or `gs://` URL instead of `.`; "
        "for a published remote corpus use the `load_dataset(\"parquet\", ...)` line "
        "`xlner-latest` prints):", "", "```python", "import datasets", "",
        *[f"ds = {load_line(root, lang, splits)}"
          + (f"  # splits: {', '.join(splits)}" if len(splits) > 1 else "")
          for lang in langs[:1]],
        ("ds[\"train\"]" if len(splits) > 1 else "ds")
        + ".features[\"ner_tags\"].feature.names  # the label list below",
        "```", "",
        "One config per target language: " + ", ".join(f"`{lang}`" for lang in langs) + ".", ""]


def _rows_table(summary: dict, langs: Sequence[str]) -> list[str]:
    lines = ["## Languages and rows", "",
             "| config | language | rows | entities (source → projected) | projection ratio |",
             "|---|---|---|---|---|"]
    for lang in langs:
        s = (summary.get("languages") or {}).get(lang, {})
        ratio = s.get("proj_ratio")
        by_split = s.get("written_by_split") or {}
        rows = str(s.get("written", 0)) + (" (" + ", ".join(
            f"{split} {n}" for split, n in by_split.items()) + ")" if len(by_split) > 1 else "")
        lines.append(f"| `{lang}` | {NLLB_LANGUAGES.get(lang, lang)} | {rows} | "
                     f"{s.get('entities_in_total', 0)} → {s.get('entities_out_total', 0)} | "
                     f"{'–' if ratio is None else f'{ratio:.3f}'} |")
    return lines + [""]


def _how_it_was_made(summary: dict) -> list[str]:
    provenance = summary.get("provenance") or {}
    settings = json.loads(provenance.get("projection_settings") or "{}")
    return ["## Labels", "",
            "`ner_tags` and `src_ner_tags` are IOB2 tags stored as indices into this list "
            "(a `ClassLabel` in the files' features):", "",
            "```", json.dumps(summary.get("label_list") or [], ensure_ascii=False), "```", "",
            "## How it was made", "",
            f"- run: `{summary.get('run_id', '')}`, xlner-beam "
            f"{summary.get('package_version', '')}, options hash "
            f"`{summary.get('options_hash', '')}`",
            f"- method: `{summary.get('method', '')}` "
            f"(projection `{provenance.get('projection', '')}`)",
            f"- translation: {translation_used(summary)}; origins per "
            "language in `summary.json` (`given` rows carried their translation)",
            f"- alignment: `{provenance.get('alignment_model') or 'none'}`"
            + (f", layers {provenance.get('align_layers')}, "
               f"{provenance.get('align_method')}" if provenance.get('alignment_model')
               else ""),
            *_fingerprint_lines(provenance),
            f"- settings: `{json.dumps(settings, sort_keys=True)}`",
            f"- records read {summary.get('records_read', 0)}, rejected "
            f"{summary.get('records_rejected', 0)}, dead-lettered "
            f"{summary.get('dead_lettered', 0)} in all (reasons in `summary.json`, records "
            "in `dead_letter/`)", ""]


def _filters_and_columns(summary: dict) -> list[str]:
    lines = []
    filters = summary.get("filters")
    if filters:
        lines += ["## Filters", "", "| filter | setting | removed |", "|---|---|---|"]
        lines += [f"| {f['name']} | `{f['setting']}` | {f['removed']} {f['unit']} |"
                  for f in filters]
        lines.append("")
    return lines + [
        "## Columns", "",
        "`id`, `lang`, `tokens`, `ner_tags`, `entities` (start, end, label, "
        "source_index, score, length_ratio, alignment_score, margin, greedy_agrees), "
        "`src_lang`, `src_tokens`, `src_ner_tags`, `translation`, `token_offsets`, "
        "`translation_origin`, `alignment`, `extra` (input fields passed through, "
        "JSON).", "",
        "An entity's `score` is in [0, 1]. For candidate matching it is a calibrated "
        "probability that the span is exactly right, fitted on English-Greek Bible "
        "names (Matthew) and measured on Mark (expected calibration error 0.010; "
        "entities at 0.9 or more right 98.5 % of the time; on held-out books 0.005 and "
        "97.9 %); on very different data (another script or segmenter) treat it as a "
        "ranking, not a probability. The raw matching score is `alignment_score`.", ""]
