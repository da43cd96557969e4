"""Math channels' language core: parse, check and evaluate derived signals, transport-free.

    expr = parse("[brakes:front] / ([brakes:front] + [brakes:rear])")   # MathError: 422
    check_definitions({"brake_bias": expr, **others})                   # cycles, unknown math:
    out = evaluate(expr, fetch, start, end, laps=run_laps, definitions=defs)  # Unavailable: absent

`parse` holds the limits (2,000 characters, nesting 64, 16 signals) and never evaluates
anything; `evaluate` aligns the referenced signals by the README's rule (`align`) and
computes with numpy. The API, ingest and exports build on these.
"""

from pitwall.common.mathchannels.align import HOLD_KINDS, LINEAR_KINDS, Series, values_at
from pitwall.common.mathchannels.check import DefinitionError, check_definitions, dependents, evaluation_order
from pitwall.common.mathchannels.errors import MathError, MissingSignal, Unavailable
from pitwall.common.mathchannels.evaluate import Evaluated, Fetch, evaluate
from pitwall.common.mathchannels.functions import FUNCTIONS
from pitwall.common.mathchannels.laps import Lap
from pitwall.common.mathchannels.limits import MAX_CHARS, MAX_NESTING, MAX_SIGNALS
from pitwall.common.mathchannels.nodes import MATH_PREFIX, Expression, unparse
from pitwall.common.mathchannels.parse import check_name, parse

__all__ = [
    "FUNCTIONS",
    "HOLD_KINDS",
    "LINEAR_KINDS",
    "MATH_PREFIX",
    "MAX_CHARS",
    "MAX_NESTING",
    "MAX_SIGNALS",
    "DefinitionError",
    "Evaluated",
    "Expression",
    "Fetch",
    "Lap",
    "MathError",
    "MissingSignal",
    "Series",
    "Unavailable",
    "check_definitions",
    "check_name",
    "dependents",
    "evaluate",
    "evaluation_order",
    "parse",
    "unparse",
    "values_at",
]
