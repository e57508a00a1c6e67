"""The row filter language: a small expression over one table's columns.

    status = 'open' AND (total >= 100 OR region IN ('eu', 'uk'))
    deleted_at IS NULL AND created BETWEEN '2024-01-01' AND '2024-12-31'
    NOT (kind <> 'test')

Portable on purpose: comparisons (= <> != < <= > >=) of columns with
literals or columns, AND / OR / NOT, [NOT] IN (literal, ...), [NOT] BETWEEN,
IS [NOT] NULL, parentheses. Literals are numbers, 'strings' ('' inside for a
quote), TRUE and FALSE. Columns are bare names or "double quoted" ones. That
is all each engine's SQL and Python (evaluate.py) agree on, so the full step,
verify and the incremental step keep the same rows.

parse() turns the text into a tree of frozen dataclasses; render() writes a
tree back as text that parses to the same tree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from turnout.errors import BadInput

Value = int | Decimal | str | bool


@dataclass(frozen=True)
class Column:
    name: str


@dataclass(frozen=True)
class Literal:
    value: Value


Operand = Column | Literal


@dataclass(frozen=True)
class Compare:
    op: str  # one of COMPARISONS
    left: Operand
    right: Operand


@dataclass(frozen=True)
class In:
    operand: Operand
    values: tuple[Literal, ...]
    negated: bool = False


@dataclass(frozen=True)
class Between:
    operand: Operand
    low: Operand
    high: Operand
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    operand: Operand
    negated: bool = False


@dataclass(frozen=True)
class Not:
    inner: Expr


@dataclass(frozen=True)
class And:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Or:
    left: Expr
    right: Expr


Expr = Compare | In | Between | IsNull | Not | And | Or
COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")
KEYWORDS = {"AND", "OR", "NOT", "IN", "BETWEEN", "IS", "NULL", "TRUE", "FALSE"}

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<num>-?\d+(?:\.\d+)?)
    | (?P<str>'(?:[^']|'')*')
    | (?P<quoted>"(?:[^"]|"")+")
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<op><>|!=|<=|>=|[=<>(),])
    )""", re.VERBOSE)


def parse(text: str) -> Expr:
    """The tree of a filter's text; BadInput saying where it goes wrong."""
    tokens = _tokenize(text)
    parser = _Parser(tokens, text)
    expr = parser.expr()
    if parser.peek() is not None:
        parser.fail("unexpected")
    return expr


def columns(expr: Expr | Operand) -> set[str]:
    """Every column a filter reads, to check against the table at create and precheck."""
    match expr:
        case Column(name):
            return {name}
        case Literal():
            return set()
        case Compare(_, left, right):
            return columns(left) | columns(right)
        case In(operand, _, _) | IsNull(operand, _):
            return columns(operand)
        case Between(operand, low, high, _):
            return columns(operand) | columns(low) | columns(high)
        case Not(inner):
            return columns(inner)
        case And(left, right) | Or(left, right):
            return columns(left) | columns(right)
    raise TypeError(expr)


def render(expr: Expr | Operand,
           operand: Callable[[Operand], str] | None = None) -> str:
    """The filter as text, fully parenthesised, that parse() reads back to the same tree.

    `operand` writes a column or a literal (by default as the filter's own text does), so
    the SQL an engine reads (sql.py) is the same walk with its dialect's quoting."""
    write = operand or _render_operand

    def walk(e: Expr | Operand) -> str:
        match e:
            case Column() | Literal():
                return write(e)
            case Compare(op, left, right):
                return f"{walk(left)} {op} {walk(right)}"
            case In(o, values, negated):
                listed = ", ".join(walk(v) for v in values)
                return f"{walk(o)} {'NOT IN' if negated else 'IN'} ({listed})"
            case Between(o, low, high, negated):
                word = "NOT BETWEEN" if negated else "BETWEEN"
                return f"{walk(o)} {word} {walk(low)} AND {walk(high)}"
            case IsNull(o, negated):
                return f"{walk(o)} IS {'NOT NULL' if negated else 'NULL'}"
            case Not(inner):
                return f"NOT ({walk(inner)})"
            case And(left, right):
                return f"({walk(left)}) AND ({walk(right)})"
            case Or(left, right):
                return f"({walk(left)}) OR ({walk(right)})"
        raise TypeError(e)

    return walk(expr)


def _render_operand(o: Operand) -> str:
    if isinstance(o, Column):
        return o.name if _bare(o.name) else '"' + o.name.replace('"', '""') + '"'
    return render_literal(o.value)


def render_literal(value: Value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def _bare(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", name)) and name.upper() not in KEYWORDS


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, offset) per token; a character no token starts with is an error."""
    tokens, at = [], 0
    while at < len(text):
        if not text[at:].strip():
            break
        match = _TOKEN.match(text, at)
        if match is None or match.lastgroup is None:
            start = len(text) - len(text[at:].lstrip())
            raise BadInput(f"filter {text!r}: cannot read {text[start:start + 10]!r} "
                           f"(at character {start + 1})")
        kind = match.lastgroup
        value, start = match.group(kind), match.start(kind)
        if kind == "word" and value.upper() in KEYWORDS:
            kind, value = "kw", value.upper()
        tokens.append((kind, value, start))
        at = match.end()
    return tokens


class _Parser:
    """Recursive descent, one method per level: OR binds loosest, then AND, then NOT."""

    def __init__(self, tokens: list[tuple[str, str, int]], text: str) -> None:
        self.tokens, self.text, self.at = tokens, text, 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def fail(self, what: str) -> None:
        token = self.peek()
        where = f"{token[1]!r} at character {token[2] + 1}" if token else "the end"
        raise BadInput(f"filter {self.text!r}: {what} {where}: write comparisons like "
                       "col = 'x', joined with AND, OR, NOT")

    def accept(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token[0] in ("kw", "op") and token[1] in words:
            self.at += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.accept(word):
            self.fail(f"expected {word} instead of")

    def expr(self) -> Expr:
        left = self.conjunction()
        while self.accept("OR"):
            left = Or(left, self.conjunction())
        return left

    def conjunction(self) -> Expr:
        left = self.negation()
        while self.accept("AND"):
            left = And(left, self.negation())
        return left

    def negation(self) -> Expr:
        if self.accept("NOT"):
            return Not(self.negation())
        if self.accept("("):
            inner = self.expr()
            self.expect(")")
            return inner
        return self.predicate()

    def predicate(self) -> Expr:
        operand = self.operand()
        if self.accept("IS"):
            negated = self.accept("NOT")
            self.expect("NULL")
            return IsNull(operand, negated)
        negated = self.accept("NOT")
        if self.accept("IN"):
            self.expect("(")
            values = [self.literal()]
            while self.accept(","):
                values.append(self.literal())
            self.expect(")")
            return In(operand, tuple(values), negated)
        if self.accept("BETWEEN"):
            low = self.operand()
            self.expect("AND")
            return Between(operand, low, self.operand(), negated)
        if negated:
            self.fail("expected IN or BETWEEN after NOT instead of")
        token = self.peek()
        if token is None or token[0] != "op" or token[1] not in (*COMPARISONS, "!="):
            self.fail("expected a comparison instead of")
        assert token is not None
        self.at += 1
        return Compare("<>" if token[1] == "!=" else token[1], operand, self.operand())

    def operand(self) -> Operand:
        token = self.peek()
        if token is not None and token[0] == "word":
            self.at += 1
            return Column(token[1])
        if token is not None and token[0] == "quoted":
            self.at += 1
            return Column(token[1][1:-1].replace('""', '"'))
        return self.literal()

    def literal(self) -> Literal:
        token = self.peek()
        if token is None:
            self.fail("expected a value at")
        assert token is not None
        kind, text, _ = token
        if kind == "num":
            self.at += 1
            return Literal(Decimal(text) if "." in text else int(text))
        if kind == "str":
            self.at += 1
            return Literal(text[1:-1].replace("''", "'"))
        if kind == "kw" and text in ("TRUE", "FALSE"):
            self.at += 1
            return Literal(text == "TRUE")
        if kind == "kw" and text == "NULL":
            self.fail("NULL compares as unknown, write IS NULL or IS NOT NULL instead of")
        self.fail("expected a column or a value instead of")
        raise AssertionError  # fail() raised
