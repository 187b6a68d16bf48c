"""The run summary: additive tallies that account for every input record.

Each stage contributes small :class:`Tally` values (a record read, a dead letter, a written
sentence with its entity counts); they add up in any order, so the Beam job combines them
with a CombineFn. ``Tally.report`` checks the books per target language:
``read == dead_lettered_before_fan_out + dead_lettered[lang] + written[lang]``, and, when
the tallies carry the input split of their record (the job's always do), the same per
split (a row held out by ``--validation_fraction`` counts against the train split it
was read in).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable, Optional, Sequence

from xlner.formats.splits import SPLITS
from xlner.text.bio import entity_types, label_list
from xlner.formats.inputs import LANGUAGE_MISSING, NOT_A_TARGET
from xlner.evaluation.metrics import Counts, proj_ratio_term, sentence_counts

# Stages where a record is rejected before it is valid; their dead letters are counted as
# read records too (a valid record is counted when it validates).
REJECTED_STAGES = ("read", "validate")
# Stages before the fan-out to target languages: their dead letters count against every
# target language.
PRE_FANOUT_STAGES = REJECTED_STAGES + ("label_source",)


@dataclass
class LangTally:
    written: int = 0
    entities_in: Counter = field(default_factory=Counter)
    entities_out: Counter = field(default_factory=Counter)
    proj_ratio_sum: Fraction = Fraction(0)  # exact: the same in any combine order
    origins: Counter = field(default_factory=Counter)
    gold: Optional[Counts] = None  # projection vs gold target tags, when the input has them
    entities_filtered: int = 0  # removed by --min_entity_score
    written_by_split: Counter = field(default_factory=Counter)  # output split -> rows
    written_from: Counter = field(default_factory=Counter)  # input split -> rows

    def add(self, o: "LangTally") -> None:
        self.written += o.written
        self.written_by_split.update(o.written_by_split)
        self.written_from.update(o.written_from)
        self.entities_filtered += o.entities_filtered
        self.entities_in.update(o.entities_in)
        self.entities_out.update(o.entities_out)
        self.proj_ratio_sum += o.proj_ratio_sum
        self.origins.update(o.origins)
        if o.gold is not None:
            self.gold = (self.gold or Counts()).add(o.gold)


EXAMPLES_PER_REASON = 2
# Dead-letter reasons that mean an input file held nothing to read.
EMPTY_INPUT_REASONS = ("empty_file", "no_match")
# What an operator does about a dead-letter reason, where we know it: printed beside the
# top reasons of a language that got no rows.
FIXES = {
    "unsupported_language_pair": "the translation model does not cover this pair (the "
                                 "embedded translator covers eng_Latn<->por_Latn only); "
                                 "give --translation_model (e.g. an NLLB-200 checkpoint)",
    "input_too_long": "the sentences are longer than the model accepts; raise "
                      "--max_input_tokens or split the sentences",
    "translation_truncated": "translations hit the decoding limit; raise --max_new_tokens",
    "tgt_lang_not_a_target": "the rows are meant for another language; add it to "
                             "--target_langs",
    "translation_language_missing": "given translations carry no tgt_lang; add tgt_lang to "
                                    "the rows or run one target language at a time",
}
TOP_REASONS = 3
# The read-stage reason of a file that could not be read to its end.
UNREADABLE = "unreadable_file"


def input_problems(dead: Counter, unread: dict, targets: list, allow_partial: bool
                   ) -> list[str]:
    """Why the input itself makes a run fail, one line each: rows meant for a language the
    run does not make, translations whose language is unknown, files read in part."""
    out = []
    outside = sorted({lang for (_, reason, lang) in dead if reason == NOT_A_TARGET})
    if outside:
        n = sum(c for (_, r, _), c in dead.items() if r == NOT_A_TARGET)
        out.append(f"{n} input row(s) are meant for {','.join(outside)} (their tgt_lang), "
                   f"which --target_langs={','.join(targets)} does not include: give "
                   f"--target_langs={','.join(outside)} (or {','.join(targets + outside)})")
    missing = sum(c for (_, r, _), c in dead.items() if r == LANGUAGE_MISSING)
    if missing:
        out.append(f"{missing} input row(s) carry a translation without tgt_lang while "
                   f"--target_langs names {len(targets)} languages: give each such row its "
                   "tgt_lang, or run one target language at a time")
    if unread and not allow_partial:
        path, (records, error) = sorted(unread.items())[0]
        more = f" and {len(unread) - 1} more" if len(unread) > 1 else ""
        out.append(f"{len(unread)} input file(s) could not be read to their end: {path}"
                   f"{more} ({error}); --allow_partial_input accepts the "
                   f"{sum(r for r, _ in unread.values())} record(s) read before the error")
    return out


def problems(balanced: bool, langs: dict, reasons: list[dict], allow_empty: bool,
             rejected: int = 0) -> list[str]:
    """Why a finished run is not a success, one line each (empty: it is): unbalanced books,
    a language without rows or whose rows carry no projected entity at all although the
    source had some (e.g. a threshold nothing passes), an input file without records."""
    out = [] if balanced else ["the summary does not account for every input record"]
    if allow_empty:
        return out
    for lang, entry in langs.items():
        if not entry["written"]:
            before = f", {rejected} rejected as input" if rejected else ""
            out.append(f"{lang}: no rows written ({entry['dead_lettered']} dead-lettered"
                       f"{before})" + why_empty(entry.get("dead_letter_reasons", [])))
        elif entry["entities_in_total"] and not entry["entities_out_total"]:
            out.append(f"{lang}: {entry['written']} rows but no entity projected (of "
                       f"{entry['entities_in_total']} in the source)")
    for r in reasons:
        if r["reason"] in EMPTY_INPUT_REASONS:
            out.append(f"{r['count']} input file(s) hold no records ({r['stage']}/{r['reason']})")
    return out


def _ordered(counts: Counter) -> dict:
    """A per-split count in the order train, validation, test (others after, sorted)."""
    return {s: counts[s] for s in sorted(counts, key=lambda s: (
        SPLITS.index(s) if s in SPLITS else len(SPLITS), s)) if counts[s]}


def why_empty(reasons: list[dict]) -> str:
    """The top dead-letter reasons of a language, with counts and the fix where known."""
    parts = []
    for r in reasons[:TOP_REASONS]:
        fix = FIXES.get(r["reason"])
        parts.append(f"{r['stage']}/{r['reason']} x{r['count']}" + (f" ({fix})" if fix else ""))
    return "; top reasons: " + ", ".join(parts) if parts else ""


@dataclass
class Tally:
    read: int = 0
    valid: int = 0
    repaired: int = 0
    dead: Counter = field(default_factory=Counter)  # (stage, reason, lang or "") -> n
    # (stage, reason) -> the smallest record ids (deterministic in any combine order)
    examples: dict = field(default_factory=dict)
    langs: dict = field(default_factory=dict)  # lang -> LangTally
    # input files not read to their end: path -> (records read before the error, error)
    unread: dict = field(default_factory=dict)
    split_read: Counter = field(default_factory=Counter)  # input split -> records read
    split_dead: Counter = field(default_factory=Counter)  # (split, stage, lang or "") -> n
    # the ClassLabel names the input files carry (one list), the run's label order
    input_labels: Optional[tuple] = None

    def add(self, o: "Tally") -> "Tally":
        self.input_labels = self.input_labels or o.input_labels
        self.unread.update(o.unread)
        self.split_read.update(o.split_read)
        self.split_dead.update(o.split_dead)
        self.read += o.read
        self.valid += o.valid
        self.repaired += o.repaired
        self.dead.update(o.dead)
        for key, ids in o.examples.items():
            merged = set(self.examples.get(key, ())) | set(ids)
            self.examples[key] = tuple(sorted(merged)[:EXAMPLES_PER_REASON])
        for lang, lt in o.langs.items():
            self.langs.setdefault(lang, LangTally()).add(lt)
        return self

    # ---------------------------------------------------------------- constructors
    @staticmethod
    def of_labels(names: Optional[Sequence[str]]) -> "Tally":
        """The input's own label names (a ``datasets`` export's ClassLabel), or None."""
        return Tally(input_labels=tuple(names) if names else None)

    @staticmethod
    def of_valid(repairs: int, split: Optional[str] = None) -> "Tally":
        """A valid record, read (in ``split``) and counted once."""
        return Tally(read=1, valid=1, repaired=int(repairs > 0),
                     split_read=Counter({split: 1} if split else {}))

    @staticmethod
    def of_dead(stage: str, reason: str, lang: Optional[str],
                record_id: Optional[str] = None, record=None, detail: str = "",
                split: Optional[str] = None) -> "Tally":
        """A dead letter; one of a rejected stage is also a record read."""
        examples = {(stage, reason): (record_id,)} if record_id is not None else {}
        t = Tally(dead=Counter({(stage, reason, lang or ""): 1}), examples=examples)
        if stage in REJECTED_STAGES:
            t.read = 1
            if split:
                t.split_read[split] += 1
        if split:
            t.split_dead[(split, stage, lang or "")] += 1
        if reason == UNREADABLE and isinstance(record, dict) and "path" in record:
            error = detail.split(": ", 1)[-1] if detail.startswith(record["path"]) else detail
            t.unread = {record["path"]: (int(record.get("records_read") or 0), error)}
        return t

    @staticmethod
    def of_written(lang: str, src_tags, tgt_tags, origin: str,
                   gold_tags=None, entities_filtered: int = 0,
                   split: Optional[str] = None, input_split: Optional[str] = None
                   ) -> "Tally":
        """A written row, in output ``split``, read in ``input_split`` (the same unless
        ``--validation_fraction`` held it out)."""
        lt = LangTally(
            entities_filtered=entities_filtered,
            written=1,
            written_by_split=Counter({split: 1} if split else {}),
            written_from=Counter({input_split or split: 1} if split else {}),
            entities_in=entity_types(src_tags),
            entities_out=entity_types(tgt_tags),
            proj_ratio_sum=Fraction(proj_ratio_term(src_tags, tgt_tags)),
            origins=Counter({origin: 1}),
        )
        if gold_tags is not None:
            lt.gold = sentence_counts(list(gold_tags), list(tgt_tags))
        return Tally(langs={lang: lt})

    # ---------------------------------------------------------------- report
    def reasons(self) -> list[dict]:
        """Every dead-letter reason: its stage, count and up to two example ids."""
        counts: Counter = Counter()
        for (stage, reason, _), n in self.dead.items():
            counts[(stage, reason)] += n
        return [{"stage": stage, "reason": reason, "count": n,
                 "example_ids": list(self.examples.get((stage, reason), ()))}
                for (stage, reason), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    def lang_reasons(self, lang: str) -> list[dict]:
        """The dead-letter reasons of one language, most frequent first."""
        counts: Counter = Counter()
        for (stage, reason, l), n in self.dead.items():
            if l == lang:
                counts[(stage, reason)] += n
        return [{"stage": stage, "reason": reason, "count": n}
                for (stage, reason), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]

    def report(self, target_langs: Iterable[str], allow_empty: bool = False,
               filters: Iterable[dict] = (), allow_partial: bool = False,
               label_names: Optional[Sequence[str]] = None) -> dict:
        """The summary document; ``problems`` lists why the run must not count as a
        success (an empty language or input file is one unless ``allow_empty``, an input
        file read in part unless ``allow_partial``, rows meant for another language
        always)."""
        target_langs = list(target_langs)
        pre = sum(n for (stage, _, _), n in self.dead.items() if stage in PRE_FANOUT_STAGES)
        rejected = sum(n for (stage, _, _), n in self.dead.items() if stage in REJECTED_STAGES)
        langs = {}
        balanced = True
        for lang in target_langs:
            lt = self.langs.get(lang, LangTally())
            dead_lang = sum(n for (stage, _, l), n in self.dead.items() if l == lang)
            ok = (self.read == pre + dead_lang + lt.written
                  and self._split_balanced(lang, lt))
            balanced &= ok
            entry = {
                "written": lt.written,
                "dead_lettered": dead_lang,
                "accounted": ok,
                "entities_in": dict(sorted(lt.entities_in.items())),
                "entities_out": dict(sorted(lt.entities_out.items())),
                "entities_in_total": sum(lt.entities_in.values()),
                "entities_out_total": sum(lt.entities_out.values()),
                "proj_ratio": float(lt.proj_ratio_sum / lt.written) if lt.written else None,
                "translation_origin": dict(sorted(lt.origins.items())),
                "entities_filtered": lt.entities_filtered,
                "dead_letter_reasons": self.lang_reasons(lang),
            }
            entry.update(self._split_counts(lang, lt))
            if lt.gold is not None:
                entry["gold_evaluation"] = lt.gold.scores()
            langs[lang] = entry
        types = set()
        for lt in self.langs.values():
            types |= set(lt.entities_in) | set(lt.entities_out)
        return {
            "label_list": label_list(types, label_names or self.input_labels),
            "records_read": self.read,
            "records_valid": self.valid,
            "records_repaired": self.repaired,
            "records_rejected": rejected,
            **({"splits": _ordered(self.split_read)} if self.split_read else {}),
            "dead_lettered": sum(self.dead.values()),
            "dead_letters_by_stage": self._dead_by_stage(),
            "dead_letter_reasons": self.reasons(),
            "accounting_balanced": balanced,
            "languages": langs,
            "incomplete_inputs": [{"path": p, "records_read": n, "error": e}
                                  for p, (n, e) in sorted(self.unread.items())],
            "problems": input_problems(self.dead, self.unread, target_langs, allow_partial)
            + problems(balanced, langs, self.reasons(), allow_empty, rejected),
            "filters": [self._filter_effect(f) for f in filters],
        }

    def _dead_by_stage(self) -> dict:
        """stage -> reason -> dead letters."""
        out: dict = {}
        for (stage, reason, _), n in sorted(self.dead.items()):
            out.setdefault(stage, {}).setdefault(reason, 0)
            out[stage][reason] += n
        return out

    def _dead_by_split(self, lang: str) -> Counter:
        """Dead letters per input split that count against ``lang``: its own and those
        before the fan-out to languages."""
        out: Counter = Counter()
        for (split, stage, l), n in self.split_dead.items():
            if l == lang or stage in PRE_FANOUT_STAGES:
                out[split] += n
        return out

    def _split_counts(self, lang: str, lt: LangTally) -> dict:
        """A language's rows per output split and dead letters per input split."""
        if not self.split_read:
            return {}
        return {"written_by_split": _ordered(lt.written_by_split),
                "dead_lettered_by_split": _ordered(self._dead_by_split(lang))}

    def _split_balanced(self, lang: str, lt: LangTally) -> bool:
        """Every split's books balance for ``lang``: records read in it are dead-lettered
        or written (held-out rows count in the split they were read in)."""
        if not self.split_read:
            return True  # tallies without splits (not the job's)
        dead_split = self._dead_by_split(lang)
        splits = set(self.split_read) | set(dead_split) | set(lt.written_from)
        return all(self.split_read[s] == dead_split[s] + lt.written_from[s] for s in splits)

    def _filter_effect(self, f: dict) -> dict:
        """One active filter and what it removed (entities, or sentences as dead letters)."""
        if f["reason"] is None:
            removed = sum(lt.entities_filtered for lt in self.langs.values())
        else:
            removed = sum(n for (stage, reason, _), n in self.dead.items()
                          if stage == "filter" and reason == f["reason"])
        return {"name": f["name"], "setting": f["setting"], "unit": f["unit"],
                "removed": removed}
