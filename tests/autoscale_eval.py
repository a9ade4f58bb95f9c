"""A reading of Azure Batch's autoscale formula language, written from its documentation ("Create
a formula to automatically scale compute nodes in a Batch pool") to check the formulas azrender
writes: statements ``$name = expression;``; doubles, ``$variables``, the documented functions,
``+ - * / %``, comparisons, ``&& ||``, ``!``, ``cond ? a : b``; sampled system variables with
``GetSample(n | interval)`` and ``GetSamplePercent(interval)``; ``TimeInterval_*`` constants.

Only the service's settable variables may be assigned besides user variables, and only the
documented read-only ones read. Samples are taken every 30 seconds (the service's rate).
"""

from __future__ import annotations

import math
import re

SAMPLE_SECONDS = 30
SETTABLE = {"$TargetDedicatedNodes", "$TargetLowPriorityNodes", "$NodeDeallocationOption"}
SAMPLED = {"$PendingTasks", "$ActiveTasks", "$RunningTasks", "$SucceededTasks", "$FailedTasks", "$TaskSlotsPerNode",
           "$CPUPercent", "$MemoryBytes", "$DiskBytes"}
READABLE = {"$CurrentDedicatedNodes", "$CurrentLowPriorityNodes", "$PreemptedNodeCount", "$UsableNodeCount",
            "$TaskSlotsPerNode"}
TIME = {"TimeInterval_Zero": 0, "TimeInterval_100ns": 1e-7, "TimeInterval_Microsecond": 1e-6,
        "TimeInterval_Millisecond": 1e-3, "TimeInterval_Second": 1, "TimeInterval_Minute": 60,
        "TimeInterval_Hour": 3600, "TimeInterval_Day": 86400, "TimeInterval_Week": 604800}
DEALLOCATION = {"requeue", "terminate", "taskcompletion", "retaineddata"}
FUNCTIONS = {"avg", "len", "lg", "ln", "log", "max", "min", "norm", "percentile", "rand", "range", "std", "sum"}
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?)|(\$?[A-Za-z_][A-Za-z0-9_]*)|(&&|\|\||==|!=|<=|>=|[-+*/%<>!?:=;(),.]))")


class FormulaError(Exception):
    pass


class Interval(float):
    """A time interval (seconds): GetSample treats it as a window, not a count."""


def tokens(text: str) -> list[str]:
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise FormulaError(f"cannot read the formula at {text[pos:pos + 20]!r}")
        out.append(next(g for g in match.groups() if g is not None))
        pos = match.end()
    return out


class Evaluator:
    def __init__(self, samples: dict[str, list[float]], current: dict[str, float] | None = None):
        self.samples = samples  # sampled variable -> values, oldest first, one per 30 s
        self.vars: dict[str, object] = dict(current or {})

    def run(self, formula: str) -> dict[str, object]:
        self.toks, self.i = tokens(formula), 0
        while self.i < len(self.toks):
            name = self.next()
            if not name.startswith("$") or self.next() != "=":
                raise FormulaError(f"a statement must be '$name = expression;', not starting {name!r}")
            if name in SAMPLED or name in READABLE:
                raise FormulaError(f"{name} is read-only")
            self.vars[name] = self.expr()
            if self.i < len(self.toks) and self.next() != ";":
                raise FormulaError("statements end with ';'")
        return self.vars

    def next(self) -> str:
        if self.i >= len(self.toks):
            raise FormulaError("the formula ends too early")
        self.i += 1
        return self.toks[self.i - 1]

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def expect(self, token: str) -> None:
        if self.next() != token:
            raise FormulaError(f"expected {token!r}")

    # precedence climbing: ?: < || < && < == != < < <= > >= < + - < * / % < unary
    def expr(self):
        cond = self.binary(0)
        if self.peek() == "?":
            self.next()
            a = self.expr()
            self.expect(":")
            b = self.expr()
            return a if _true(cond) else b
        return cond

    LEVELS = [("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "/", "%")]

    def binary(self, level: int):
        if level == len(self.LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek() in self.LEVELS[level]:
            op = self.next()
            right = self.binary(level + 1)
            left = _apply(op, left, right)
        return left

    def unary(self):
        if self.peek() == "-":
            self.next()
            return -_num(self.unary())
        if self.peek() == "!":
            self.next()
            return 0.0 if _true(self.unary()) else 1.0
        return self.primary()

    def primary(self):
        tok = self.next()
        if tok == "(":
            value = self.expr()
            self.expect(")")
            return value
        if re.match(r"\d", tok):
            return float(tok)
        if tok in TIME:
            return Interval(TIME[tok])
        if tok in DEALLOCATION:
            return tok
        if tok in FUNCTIONS:
            self.expect("(")
            args = [self.expr()]
            while self.peek() == ",":
                self.next()
                args.append(self.expr())
            self.expect(")")
            return _call(tok, args)
        if tok.startswith("$"):
            if self.peek() == ".":
                self.next()
                return self.method(tok, self.next())
            if tok in SAMPLED:
                raise FormulaError(f"{tok} is sampled: read it with GetSample(...)")
            if tok not in self.vars:
                raise FormulaError(f"{tok} is used before it is set")
            return self.vars[tok]
        raise FormulaError(f"unknown name {tok!r}")

    def method(self, variable: str, name: str):
        if variable not in SAMPLED:
            raise FormulaError(f"{variable} has no samples")
        self.expect("(")
        arg = self.expr()
        self.expect(")")
        values = self.samples.get(variable, [])
        if name == "GetSample":
            count = int(arg / SAMPLE_SECONDS) if isinstance(arg, Interval) else int(arg)
            if not values or count < 1:
                raise FormulaError(f"{variable}.GetSample({arg}): no samples")
            return [float(v) for v in values[-count:]]
        if name == "GetSamplePercent":
            wanted = max(1, int(arg / SAMPLE_SECONDS))
            return 100.0 * min(len(values), wanted) / wanted
        raise FormulaError(f"unknown method {name}")


def _num(value) -> float:
    if isinstance(value, list):
        if len(value) != 1:
            raise FormulaError("a vector where a number is needed (wrap it in max/min/avg)")
        value = value[0]
    if isinstance(value, str):
        raise FormulaError(f"{value!r} is not a number")
    return float(value)


def _true(value) -> bool:
    return _num(value) != 0


def _apply(op: str, a, b):
    x, y = _num(a), _num(b)
    if op in "+-*/" and (isinstance(a, Interval) or isinstance(b, Interval)):  # still a time interval
        return Interval(_apply(op, x, y))
    return {"||": lambda: float(x != 0 or y != 0), "&&": lambda: float(x != 0 and y != 0),
            "==": lambda: float(x == y), "!=": lambda: float(x != y), "<": lambda: float(x < y),
            "<=": lambda: float(x <= y), ">": lambda: float(x > y), ">=": lambda: float(x >= y),
            "+": lambda: x + y, "-": lambda: x - y, "*": lambda: x * y, "/": lambda: x / y,
            "%": lambda: math.fmod(x, y)}[op]()


def _call(name: str, args):
    flat = [float(v) for a in args for v in (a if isinstance(a, list) else [_num(a)])]
    if name == "max":
        return max(flat)
    if name == "min":
        return min(flat)
    if name in ("avg", "sum", "len"):
        return {"avg": sum(flat) / len(flat), "sum": sum(flat), "len": float(len(flat))}[name]
    raise FormulaError(f"{name} is not used by azrender's formulas")


def target_nodes(formula: str, pending: list[float], *, dedicated: bool = True) -> tuple[int, object]:
    """(target nodes, node deallocation option) after evaluating ``formula`` with ``$PendingTasks``
    samples ``pending`` (oldest first). Batch truncates a fractional target."""
    result = Evaluator({"$PendingTasks": pending}).run(formula)
    name = "$TargetDedicatedNodes" if dedicated else "$TargetLowPriorityNodes"
    if name not in result:
        raise FormulaError(f"the formula does not set {name}")
    return int(_num(result[name])), result.get("$NodeDeallocationOption")
