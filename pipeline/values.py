"""What values a numeric option accepts: one declaration for the parser and the template.

An option declared with a :class:`Check` (``pipeline/options.py``) is refused at parse
time, before any work, with one line naming it, when its value is outside the declared
form or range: NaN, infinities, signs, exponents, underscores, non-ASCII digits, zero
where zero means nothing, reversed bounds. The same declaration gives the Flex template's
validation regex (``Check.template``), so the template UI and the command line accept the
same values (for pairs and weight lists the regex checks the form; the order of a pair and
"not all zero" only the job can check). Options objects check their values again when they
are built (``check_options``), so a programmatic ``dataclasses.replace`` cannot slip a NaN
past the parser.

Numbers are written plainly: whole numbers as ASCII digits without a sign or leading
zeros (at most ``digits`` of them, which is also the upper bound), decimals as digits with
an optional fraction (``0.5``, ``12``), at most 9 digits before the point, so every
accepted value is finite.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional

from xlner.projection.filters import parse_bounds
from xlner.models.encoders import as_layers
from xlner.projection.scores import SCORES, parse_weights

_DECIMAL = r"(0|[1-9][0-9]{0,8})(\.[0-9]+)?"
_LAYER = r"[1-9][0-9]{0,2}"


class BadValue(ValueError):
    """Why a value is refused, in words that follow ``--name must be``/``--name:``."""


@dataclass(frozen=True)
class Check:
    """The accepted values of one option: the written form (``syntax``, a regex the whole
    value must match), how text becomes the typed value, and a rule on that value."""

    what: str  # the accepted values in words ("a whole number >= 1")
    syntax: str
    convert: Callable[[str], Any]
    rule: Callable[[str, Any], Optional[str]]  # (name, typed value) -> why it is refused
    template_regex: Optional[str] = None  # form and range together, when a regex can say both
    # True when the template regex accepts exactly the values the job accepts; False when
    # the rule checks more than a regex can say (the order of a pair, "not all zero")
    exact_template: bool = True

    @property
    def template(self) -> str:
        return self.template_regex or self.syntax

    def parse(self, name: str, value: Any) -> Any:
        """The typed value of ``--name=value``; raises BadValue naming the option."""
        if isinstance(value, str) and self.convert is not str:
            if not re.fullmatch(self.syntax, value):
                raise BadValue(f"--{name} must be {self.what}, not {value!r}")
            value = self.convert(value)
        self.validate(name, value)
        return value

    def validate(self, name: str, value: Any) -> None:
        if isinstance(value, str) and not re.fullmatch(self.syntax, value):
            raise BadValue(f"--{name} must be {self.what}, not {value!r}")
        problem = self.rule(f"--{name}", value)
        if problem:
            raise BadValue(problem)


def _whole(minimum: int, digits: int) -> Callable[[str, Any], Optional[str]]:
    def rule(flag, v):
        if not isinstance(v, int) or isinstance(v, bool):
            return f"{flag} must be a whole number, not {v!r}"
        if v < minimum:
            return f"{flag} must be at least {minimum}, not {v}"
        if v >= 10 ** digits:
            return f"{flag} must be below {10 ** digits}, not {v}"
        return None
    return rule


def count(minimum: int = 0, digits: int = 9) -> Check:
    """A whole number from ``minimum`` (0 or 1) to 10**digits - 1."""
    if minimum not in (0, 1):
        raise ValueError("count() takes minimum 0 or 1")
    syntax = rf"^(0|[1-9][0-9]{{0,{digits - 1}}})$"
    template = syntax if minimum == 0 else rf"^[1-9][0-9]{{0,{digits - 1}}}$"
    return Check(f"a whole number from {minimum} to {10 ** digits - 1} (digits only)",
                 syntax, int, _whole(minimum, digits), template)


def _non_negative(flag, v) -> Optional[str]:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return f"{flag} must be a number, not {v!r}"
    if not math.isfinite(v):
        return f"{flag} must be a finite number, not {v}"
    if v < 0:
        return f"{flag} must not be negative, not {v}"
    if v >= 1e9:
        return f"{flag} must be below 1000000000, not {v}"
    return None


def _below_one(flag, v) -> Optional[str]:
    problem = _non_negative(flag, v)
    if problem is None and v >= 1:
        return f"{flag} must be below 1, not {v}"
    return problem


def fraction() -> Check:
    """A finite number from 0 up to, not including, 1 (0.2)."""
    return Check("a number from 0 to below 1 written like 0.2 (no sign, exponent, nan or inf)",
                 r"^0(\.[0-9]+)?$", float, _below_one)


def decimal() -> Check:
    """A finite number >= 0 written as digits with an optional fraction (0.5, 12)."""
    return Check("a number >= 0 written like 0.5 or 12 (no sign, exponent, nan or inf)",
                 rf"^{_DECIMAL}$", float, _non_negative)


def _refusal(parse: Callable[[str, str], Any]) -> Callable[[str, Any], Optional[str]]:
    """A rule from a parser ``parse(value, flag)`` that raises ValueError naming the flag."""
    def rule(flag, v):
        try:
            parse(v, flag)
        except ValueError as e:
            return str(e)
        return None
    return rule


def bounds() -> Check:
    """``LOW,HIGH`` with 0 <= LOW <= HIGH, or empty (no bounds)."""
    return Check("LOW,HIGH with two numbers written like 0.5 or 2, or empty",
                 rf"^({_DECIMAL},{_DECIMAL})?$", str,
                 _refusal(parse_bounds), exact_template=False)


def score_weights() -> Check:
    """``name=weight,...`` over the known scores, finite weights >= 0, not all zero."""
    item = rf"({'|'.join(SCORES)})={_DECIMAL}"
    return Check(f"name=weight pairs with names in {', '.join(SCORES)} and weights written "
                 "like 0.5", rf"^{item}(,{item})*$", str,
                 _refusal(lambda v, flag: parse_weights(v, flag)), exact_template=False)


def _layers_rule(flag, v) -> Optional[str]:
    try:
        layers = as_layers(v)
    except ValueError as e:
        return f"{flag}: {e}"
    if len(set(layers)) != len(layers) or min(layers, default=0) < 1:
        return f"{flag} needs distinct layers from 1 (0 is the embeddings), not {v!r}"
    return None


def layers() -> Check:
    """``N``, ``A-B`` (A <= B) or ``N,M,...``: hidden layers from 1 (0 is the embeddings)."""
    return Check("N, A-B or N,M,... with layers from 1 to 999",
                 rf"^{_LAYER}(-{_LAYER}|(,{_LAYER})*)$", str, _layers_rule,
                 exact_template=False)


def text(what: str, syntax: str) -> Check:
    """A text option whose whole form a regex says (a device, a resource hint)."""
    return Check(what, syntax, str, lambda flag, v: None)


def device() -> Check:
    return text("auto, cpu, cuda or cuda:N", r"^(auto|cpu|cuda(:(0|[1-9][0-9]?))?)$")


def accelerator() -> Check:
    """Beam's accelerator hint with a count of at least 1, or empty."""
    return text("type:NAME;count:N with N >= 1 (and optionally ;install-nvidia-driver), or "
                "empty", r"^(type:[a-z0-9-]+;count:[1-9][0-9]?"
                r"(;install-nvidia-driver(:[0-9]+(\.[0-9]+)*)?)?)?$")


def memory() -> Check:
    """A positive amount of memory such as 32GB or 1.5GiB, or empty."""
    return text("a positive amount such as 32GB or 1.5GiB, or empty",
                r"^(([1-9][0-9]{0,5}(\.[0-9]+)?|0\.[0-9]*[1-9][0-9]*) ?[KMGT]i?B)?$")
