"""MySQL and MariaDB SQL → ops, through sqlglot's MySQL tokenizer and parser.

sqlglot has no byte offsets for statements and no structure for much of the DDL that decides
whether an ALTER is online (``ALGORITHM=``/``LOCK=`` clauses, ``CONVERT TO CHARACTER SET``,
``CREATE INDEX … LOCK=NONE``, ``RENAME TABLE``), so the work is split:

- :func:`split` cuts the file into statements itself, knowing strings, the three comment
  styles, executable comments (``/*!40101 … */``) and ``DELIMITER`` lines, so every statement
  and every op has an exact span.
- DDL is read from sqlglot's tokens by the small clause readers below (one per ALTER TABLE
  sub-command and table element); sqlglot's parser is used where it is good: column
  definitions (types, NOT NULL, defaults, character sets) and DML.
- A stored procedure's body is read too: ``CALL p()`` performs the DDL and DML in it, with
  spans inside the procedure, so conditional upgrade scripts are linted for what they do.

Whatever no reader recognises becomes :class:`~migsafe.ops.Unknown`, never dropped.
sqlglot is imported inside the functions that need it (it is the ``mysql`` extra).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

from migsafe import ops
from migsafe.parse.postgres import SqlSyntaxError
from migsafe.parse.text import SourceText, source_text

if TYPE_CHECKING:
    from sqlglot.tokenizer_core import Token

# sqlglot DataType names → the schema model's type names: PostgreSQL's internal name where
# the two servers mean the same thing (so narrowing and compatibility compare alike), the
# MySQL name otherwise.
_TYPES = {
    "INT": "int4",
    "UINT": "int4 unsigned",
    "SMALLINT": "int2",
    "USMALLINT": "int2 unsigned",
    "BIGINT": "int8",
    "UBIGINT": "int8 unsigned",
    "TINYINT": "tinyint",
    "UTINYINT": "tinyint unsigned",
    "MEDIUMINT": "mediumint",
    "UMEDIUMINT": "mediumint unsigned",
    "BOOLEAN": "tinyint",
    "VARCHAR": "varchar",
    "CHAR": "bpchar",
    "TEXT": "text",
    "DECIMAL": "numeric",
    "UDECIMAL": "numeric unsigned",
    "FLOAT": "float4",
    "DOUBLE": "float8",
    "DATE": "date",
    "TIME": "time",
}
_INTEGERS = frozenset(
    name for dtype, name in _TYPES.items() if "INT" in dtype and not dtype.endswith("POINT")
)
# First words of a CREATE TABLE element that is not a column definition.
_ELEMENTS = frozenset(
    {"CONSTRAINT", "PRIMARY", "FOREIGN", "CHECK", "UNIQUE", "INDEX", "KEY", "FULLTEXT"}
) | {"SPATIAL", "PERIOD", "LIKE"}
# Leading words of statements this module knows are valid MySQL even when it reads nothing
# more from them; any other first word is a syntax error.
_STATEMENT_WORDS = frozenset(
    """ALTER ANALYZE BEGIN CALL CHANGE CHECK COMMIT CREATE DEALLOCATE DECLARE DELETE DO DROP
    EXECUTE EXPLAIN FLUSH GRANT HANDLER IF INSERT INSTALL KILL LOAD LOCK OPTIMIZE PREPARE
    PURGE RELEASE RENAME REPAIR REPLACE RESET REVOKE ROLLBACK SAVEPOINT SELECT SET SHOW
    SHUTDOWN START STOP TABLE TRUNCATE UNINSTALL UNLOCK UPDATE USE VALUES WITH XA""".split()
)
_BODY_WORDS = frozenset({"ALTER", "CREATE", "DROP", "INSERT", "UPDATE", "DELETE", "RENAME"})
_BODY_WORDS |= frozenset({"TRUNCATE", "REPLACE"})
# Statements that cannot end on one of the _DANGLING words (``DROP TABLE``, ``DELETE FROM``,
# ``ALTER TABLE t ALTER COLUMN c SET``): each is followed by a name, a value or a clause.
_CHECKED_WORDS = _BODY_WORDS | {"SET"}
_DANGLING = frozenset(
    """ADD ALTER AS CHANGE COLUMN CONSTRAINT CREATE DELETE DROP EXISTS FROM INDEX INSERT
    INTO MODIFY NOT ON REFERENCES RENAME REPLACE SET TABLE TO TRUNCATE UPDATE VALUES WHERE
    = , (""".split()
)
_SYSTEM_VARIABLE = re.compile(r"@@(?:(session|local|global|persist)\.)?")
_EXECUTABLE = re.compile(r"/\*!\d*|\*/")


@dataclass(frozen=True)
class Raw:
    """One statement as the splitter found it: where it is, and its text without the
    delimiter that ended it."""

    start: int
    end: int  # past the delimiter
    body_end: int  # before the delimiter


def split(text: str) -> list[Raw]:
    """The statements of a MySQL script, as the ``mysql`` client and the server send and
    read them.

    A ``DELIMITER`` line changes the terminator (and ends a statement left open before it,
    as an upgrade script that forgot its last ``d//`` means it). A stored program created
    without ``DELIMITER`` (a driver sending the file as one multi-statement query) runs to
    the ``END`` that closes its body: inside, ``BEGIN`` and ``CASE`` open blocks, and an
    ``END`` not followed by ``IF``/``LOOP``/``WHILE``/``REPEAT`` closes one.
    """
    out: list[Raw] = []
    delimiter = ";"
    i, n = 0, len(text)
    while True:
        i = _skip_blanks(text, i, between=True)
        if i >= n:
            return out
        m = _DELIMITER.match(text, i)
        if m and _line_start(text, i):
            delimiter = m.group(1)
            i = m.end()
            continue
        start = i
        compound = bool(_COMPOUND.match(text, i)) and delimiter == ";"
        depth = 0
        while i < n:
            if text.startswith(delimiter, i) and depth <= 0:
                out.append(Raw(start, i + len(delimiter), i))
                i += len(delimiter)
                break
            ch = text[i]
            if ch in "'\"`":
                i = _skip_quoted(text, i)
            elif _comment_at(text, i):
                i = _skip_comment(text, i)
            elif ch in "dD" and _line_start(text, i) and _DELIMITER.match(text, i):
                body_end = len(text[:i].rstrip())
                out.append(Raw(start, body_end, body_end - text[:body_end].endswith(";")))
                break
            elif compound and (ch.isalpha() or ch == "_") and not _word_char(text, i - 1):
                word = _WORD.match(text, i)
                assert word is not None
                upper = word.group().upper()
                if upper in ("BEGIN", "CASE"):
                    depth += 1
                elif upper == "END" and not _BLOCK_END.match(text, word.end()):
                    depth -= 1
                i = word.end()
            else:
                i += 1
        else:
            end = len(text.rstrip())
            out.append(Raw(start, end, end))
            return out


_DELIMITER = re.compile(r"DELIMITER[ \t]+(\S+)[^\n]*", re.I)
_COMPOUND = re.compile(
    r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:DEFINER\s*=\s*\S+\s+)?"
    r"(?:AGGREGATE\s+)?(?:PROCEDURE|FUNCTION|TRIGGER|EVENT)\b",
    re.I,
)
_WORD = re.compile(r"\w+")
_BLOCK_END = re.compile(r"\s+(?:IF|LOOP|WHILE|REPEAT)\b", re.I)


def _word_char(text: str, i: int) -> bool:
    return i >= 0 and (text[i].isalnum() or text[i] in "_$")


def _line_start(text: str, i: int) -> bool:
    j = i
    while j > 0 and text[j - 1] in " \t":
        j -= 1
    return j == 0 or text[j - 1] == "\n"


def _comment_at(text: str, i: int, between: bool = False) -> bool:
    """A comment starts at ``i``. ``--`` needs a blank after it in MySQL, except between
    statements (``--DROP …`` on a line of its own), where it cannot be an operator."""
    if text.startswith("/*", i):
        return not text.startswith("/*!", i)
    if text[i] == "#":
        return True
    if not text.startswith("--", i):
        return False
    return between or i + 2 >= len(text) or text[i + 2] in " \t\r\n"


def _skip_comment(text: str, i: int) -> int:
    if text.startswith("/*", i):
        close = text.find("*/", i + 2)
        if close < 0:
            raise _error(text, i, "unterminated /* comment")
        return close + 2
    newline = text.find("\n", i)
    return len(text) if newline < 0 else newline + 1


def _skip_quoted(text: str, i: int) -> int:
    quote = text[i]
    j = i + 1
    while j < len(text):
        ch = text[j]
        if ch == "\\" and quote != "`":
            j += 2
        elif ch == quote:
            if text.startswith(quote * 2, j):
                j += 2
            else:
                return j + 1
        else:
            j += 1
    raise _error(text, i, f"unterminated {quote}quoted{quote} text")


def _skip_blanks(text: str, i: int, between: bool = False) -> int:
    while i < len(text):
        if text[i] in " \t\r\n\f\v":
            i += 1
        elif _comment_at(text, i, between):
            i = _skip_comment(text, i)
        else:
            break
    return i


def _error(text: str, offset: int, message: str) -> SqlSyntaxError:
    line, column = source_text(text).position(offset)
    return SqlSyntaxError(message, line, column)


def parse(text: str) -> list[ops.Statement]:
    """Parse a whole MySQL/MariaDB migration file. Raises :class:`SqlSyntaxError` for what no
    MySQL server would accept (an unterminated string, a statement that starts with no SQL
    keyword); statements valid but beyond the readers here become ``Unknown`` ops."""
    source = source_text(text)
    procedures: dict[str, tuple[ops.Op, ...]] = {}
    statements: list[ops.Statement] = []
    for raw in split(text):
        try:
            reader = _Reader(text, source, raw.start, raw.body_end)
            made = reader.statement(procedures)
        except RecursionError:
            # sqlglot reads expressions recursively; the server would refuse this one too.
            raise _error(text, raw.start, "statement nested too deeply") from None
        if made is None:
            continue
        span = source.span(raw.start, raw.end)
        statements.append(ops.Statement(sql=text[raw.start : raw.end], span=span, ops=made))
    return statements


def _code(sql: str) -> str:
    """The statement as the server runs it: executable comments opened, same length."""
    if "/*!" not in sql:
        return sql
    return _EXECUTABLE.sub(lambda m: " " * len(m.group()), sql)


@functools.cache
def _tokenizer_class() -> Any:
    """sqlglot's MySQL tokenizer, reading every word as a token: sqlglot turns the rest of
    a statement it cannot parse (``RENAME``, ``CALL``) into one string, and joins
    ``PRIMARY KEY``/``FOREIGN KEY`` into single tokens; the readers here want neither."""
    from sqlglot.dialects.mysql import MySQL

    class Tokenizer(MySQL.Tokenizer):
        COMMANDS: ClassVar[set[Any]] = set()
        KEYWORDS: ClassVar[dict[str, Any]] = {
            k: v for k, v in MySQL.Tokenizer.KEYWORDS.items() if " " not in k
        }

    return Tokenizer


def _tokenizer() -> Any:
    return _tokenizer_class()(dialect="mysql")


def _unquote(name: str) -> str:
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "`\"'":
        return name[1:-1].replace(name[0] * 2, name[0])
    return name


class _Reader:
    """Reads one statement from its tokens; offsets in tokens are relative to ``start``."""

    def __init__(self, text: str, source: SourceText, start: int, end: int) -> None:
        from sqlglot.errors import TokenError

        self.text = text
        self.source = source
        self.start = start
        self.sql = _code(text[start:end])
        try:
            self.tokens: list[Token] = _tokenizer().tokenize(self.sql)
        except TokenError as exc:
            raise _error(text, start, f"cannot read statement: {exc}") from None
        self.span = source.span(start, end)

    # -- helpers -------------------------------------------------------------------------------

    def words(self, lo: int, hi: int | None = None) -> list[str]:
        return [t.text.upper() for t in self.tokens[lo:hi]]

    def at(self, i: int, *words: str) -> bool:
        return self.words(i, i + len(words)) == list(words)

    def name(self, i: int) -> tuple[str, int]:
        """A possibly qualified name starting at token ``i``, and the index after it."""
        parts = [_unquote(self._raw(self.tokens[i]))]
        i += 1
        while i + 1 < len(self.tokens) and self.tokens[i].text == ".":
            parts.append(_unquote(self._raw(self.tokens[i + 1])))
            i += 2
        return ".".join(parts), i

    def _raw(self, token: Token) -> str:
        return self.sql[token.start : token.end + 1]

    def text_of(self, lo: int, hi: int) -> str:
        """Source text from token ``lo`` to the end of token ``hi - 1``."""
        return self.sql[self.tokens[lo].start : self.tokens[hi - 1].end + 1]

    def span_of(self, lo: int, hi: int) -> ops.Span:
        return self.source.span(
            self.start + self.tokens[lo].start, self.start + self.tokens[hi - 1].end + 1
        )

    def parens(self, i: int) -> int:
        """Index just past the parenthesised group opening at token ``i``."""
        depth = 0
        for j in range(i, len(self.tokens)):
            if self.tokens[j].text == "(":
                depth += 1
            elif self.tokens[j].text == ")":
                depth -= 1
                if depth == 0:
                    return j + 1
        return len(self.tokens)

    def items(self, lo: int, hi: int) -> Iterator[tuple[int, int]]:
        """Comma-separated items between token ``lo`` and ``hi`` at the top nesting level."""
        depth, first = 0, lo
        for j in range(lo, hi):
            text = self.tokens[j].text
            if text == "(":
                depth += 1
            elif text == ")":
                depth -= 1
            elif text == "," and depth == 0:
                if j > first:
                    yield first, j
                first = j + 1
        if hi > first:
            yield first, hi

    def column_list(self, i: int) -> tuple[tuple[str, ...], int]:
        """``(a, b(10) DESC, …)`` at token ``i``: the column names and the index after it."""
        end = self.parens(i)
        names = tuple(_unquote(self._raw(self.tokens[lo])) for lo, _ in self.items(i + 1, end - 1))
        return names, end

    def unknown(self, lo: int = 0, hi: int | None = None) -> ops.Unknown:
        hi = len(self.tokens) if hi is None else hi
        if lo >= hi:
            return ops.Unknown(statement=self.sql.strip(), span=self.span)
        return ops.Unknown(statement=self.text_of(lo, hi), span=self.span_of(lo, hi))

    # -- statements ----------------------------------------------------------------------------

    def statement(self, procedures: dict[str, tuple[ops.Op, ...]]) -> tuple[ops.Op, ...] | None:
        """The statement's ops. Raises :class:`SqlSyntaxError` for one that stops where more
        must follow (``ALTER TABLE t ADD``, ``DELETE FROM``), which every MySQL server
        rejects: the readers index past the last token only for such a statement."""
        if not self.tokens:
            return None
        first = self.tokens[0].text.upper()
        if first not in _STATEMENT_WORDS:
            raise _error(self.text, self.start, f"syntax error at or near {self.tokens[0].text!r}")
        last = self._raw(self.tokens[-1]).upper()
        if first in _CHECKED_WORDS and last in _DANGLING:
            raise self._incomplete()
        try:
            made = self._statement(first, procedures)
        except IndexError:
            raise self._incomplete() from None
        if not made:
            raise self._incomplete()
        return made

    def _incomplete(self, at: int = -1) -> SqlSyntaxError:
        last = self.tokens[at]
        return _error(
            self.text,
            self.start + last.end + 1,
            f"incomplete statement: it ends after {self._raw(last)!r}",
        )

    def _statement(
        self, first: str, procedures: dict[str, tuple[ops.Op, ...]]
    ) -> tuple[ops.Op, ...]:
        w = self.words(0, 6)
        if w[:2] == ["ALTER", "TABLE"] or w[:3] in (["ALTER", "ONLINE", "TABLE"],):
            return tuple(self.alter_table(w.index("TABLE") + 1))
        if w[:2] == ["ALTER", "IGNORE"] and w[2:3] == ["TABLE"]:
            return tuple(self.alter_table(3))
        if first == "CREATE":
            return tuple(self.create(procedures))
        if first == "DROP":
            return (self.drop(),)
        if first == "RENAME" and w[1:2] == ["TABLE"]:
            return tuple(self.rename_tables())
        if first == "TRUNCATE":
            i = 2 if w[1:2] == ["TABLE"] else 1
            return (ops.Truncate(tables=(self.name(i)[0],), span=self.span),)
        if first in ("INSERT", "REPLACE", "UPDATE", "DELETE"):
            return (self.dml(),)
        if first == "SET":
            return tuple(self.set())
        if first in ("BEGIN", "START", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
            return (self.transaction(),)
        if first == "CALL":
            name = self.name(1)[0]
            body = procedures.get(name.lower())
            if body:
                return body
        return (self.unknown(),)

    def transaction(self) -> ops.Op:
        w = self.words(0, 3)
        action: Any
        if w[0] in ("BEGIN", "START"):
            action = "begin"
        elif w[0] == "COMMIT":
            action = "commit"
        elif w[0] == "SAVEPOINT":
            action = "savepoint"
        elif w[0] == "RELEASE":
            action = "release"
        else:
            action = "rollback_to" if "TO" in w else "rollback"
        return ops.Transaction(action=action, span=self.span)

    def set(self) -> Iterator[ops.Op]:
        """``SET x = v, …``: session variables by name (``foreign_key_checks``), user
        variables with their ``@``; a GLOBAL one is named ``global.x``, since it leaves this
        session's value alone."""
        i = 1
        scope = ""
        first = self.words(1, 2)
        if first in (["SESSION"], ["LOCAL"]):
            i = 2
        elif first in (["GLOBAL"], ["PERSIST"], ["PERSIST_ONLY"]):
            i, scope = 2, "global."
        if self.words(i, i + 1) in (["NAMES"], ["CHARACTER"], ["CHARSET"]):
            value = self.text_of(i + 1, len(self.tokens))
            yield ops.SetSetting(name="names", value=value, span=self.span)
            return
        if self.words(i, i + 1) == ["TRANSACTION"]:
            yield self.unknown()
            return
        for lo, hi in self.items(i, len(self.tokens)):
            eq = next((j for j in range(lo, hi) if self.tokens[j].text in ("=", ":=")), None)
            if eq is None:
                yield self.unknown(lo, hi)
                continue
            name = self.text_of(lo, eq).lower().replace(" ", "")
            prefix = scope
            m = _SYSTEM_VARIABLE.match(name)
            if m:
                name = name[m.end() :]
                prefix = "global." if m.group(1) in ("global", "persist") else ""
            value = _unquote(self.text_of(eq + 1, hi).strip()) if hi > eq + 1 else ""
            yield ops.SetSetting(name=prefix + name, value=value, span=self.span_of(lo, hi))

    def dml(self) -> ops.Op:
        from sqlglot import exp, parse_one
        from sqlglot.errors import ParseError

        try:
            tree = parse_one(self.sql, read="mysql")
        except ParseError:
            return self.unknown()
        target = tree.this if isinstance(tree, exp.Insert | exp.Update | exp.Delete) else None
        if isinstance(target, exp.Schema):
            target = target.this
        if not isinstance(target, exp.Table):
            tables = list(tree.find_all(exp.Table))
            target = tables[0] if tables else None
        if target is None:
            return self.unknown()
        table = ".".join(p.name for p in target.parts)
        if isinstance(tree, exp.Insert):
            query = tree.expression
            return ops.Insert(
                table=table,
                from_query=isinstance(query, exp.Query) and not isinstance(query, exp.Values),
                span=self.span,
            )
        has_where = tree.args.get("where") is not None
        if isinstance(tree, exp.Update):
            columns = tuple(
                e.this.name for e in tree.expressions if isinstance(e, exp.EQ) and e.this
            )
            return ops.Update(table=table, has_where=has_where, columns=columns, span=self.span)
        if isinstance(tree, exp.Delete):
            return ops.Delete(table=table, has_where=has_where, span=self.span)
        return self.unknown()

    def rename_tables(self) -> Iterator[ops.Op]:
        for lo, hi in self.items(2, len(self.tokens)):
            old, i = self.name(lo)
            if not self.at(i, "TO"):
                yield self.unknown(lo, hi)
                continue
            new = self.name(i + 1)[0]
            yield ops.RenameTable(table=old, new_name=new, span=self.span_of(lo, hi))

    def drop(self) -> ops.Op:
        w = self.words(0, 3)
        i = 2 if w[1] == "TEMPORARY" else 1
        kind = self.words(i, i + 1)[0] if i < len(self.tokens) else ""
        i += 1
        exists = self.at(i, "IF", "EXISTS")
        if exists:
            i += 2
        if kind == "TABLE":
            names = tuple(self.name(lo)[0] for lo, _ in self.items(i, len(self.tokens)))
            cascade = "CASCADE" in self.words(i)
            return ops.DropTable(tables=names, if_exists=exists, cascade=cascade, span=self.span)
        if kind == "INDEX":
            name, j = self.name(i)
            if self.at(j, "ON"):
                return ops.DropIndex(indexes=(name,), if_exists=exists, span=self.span)
        if kind in ("DATABASE", "SCHEMA"):
            return ops.DropDatabase(name=self.name(i)[0], if_exists=exists, span=self.span)
        if kind in ("VIEW", "PROCEDURE", "FUNCTION", "TRIGGER", "EVENT", "SEQUENCE"):
            names = tuple(self.name(lo)[0] for lo, _ in self.items(i, len(self.tokens)))
            return ops.DropObject(
                object_kind=kind.lower(), names=names, if_exists=exists, span=self.span
            )
        return self.unknown()

    def create(self, procedures: dict[str, tuple[ops.Op, ...]]) -> Iterator[ops.Op]:
        w = self.words(0, 12)
        i = 1
        or_replace = w[1:3] == ["OR", "REPLACE"]
        if or_replace:
            i = 3
        # CREATE [ALGORITHM=…] [DEFINER=…] [SQL SECURITY …] VIEW / PROCEDURE / …
        while i < len(w) and w[i] in ("ALGORITHM", "DEFINER", "SQL", "SECURITY", "AGGREGATE"):
            i = self._skip_option(i)
        kind = self.words(i, i + 1)[0] if i < len(self.tokens) else ""
        if kind in ("TABLE", "TEMPORARY"):
            yield self.create_table(i + (2 if kind == "TEMPORARY" else 1))
            return
        if kind in ("INDEX", "UNIQUE", "FULLTEXT", "SPATIAL"):
            yield self.create_index(i)
            return
        if kind in ("DATABASE", "SCHEMA", "VIEW", "FUNCTION", "PROCEDURE", "TRIGGER", "EVENT"):
            j = i + 1
            exists = self.at(j, "IF", "NOT", "EXISTS")
            if exists:
                j += 3
            name, after = self.name(j)
            if kind == "PROCEDURE":
                procedures[name.lower()] = tuple(self.body_ops(after))
            if kind == "TRIGGER":
                on = self.words(after).index("ON") + after if "ON" in self.words(after) else None
                if on is not None:
                    table = self.name(on + 1)[0]
                    yield ops.CreateTrigger(table=table, name=name, span=self.span)
                    return
            yield ops.CreateObject(
                object_kind=kind.lower(),
                name=name,
                if_not_exists=exists,
                or_replace=or_replace,
                span=self.span,
            )
            return
        yield self.unknown()

    def _skip_option(self, i: int) -> int:
        """Past ``ALGORITHM = x``, ``DEFINER = user@host``, ``SQL SECURITY x``."""
        if self.at(i, "SQL", "SECURITY"):
            return i + 3
        if self.words(i, i + 1) == ["AGGREGATE"]:
            return i + 1
        i += 2 if self.words(i + 1, i + 2) == ["="] else 1
        i += 1
        while i < len(self.tokens) and self.tokens[i].text in ("@",):
            i += 2
        return i

    def body_ops(self, after: int) -> Iterator[ops.Op]:
        """The DDL and DML a procedure body performs, each with its span in the file.

        Control flow is not followed: what an ``IF … THEN`` guards counts as done, which is
        what an upgrade script's guard is there for."""
        words = self.words(after)
        if "BEGIN" not in words:
            return
        begin = after + words.index("BEGIN") + 1
        pieces: list[tuple[int, int]] = []
        first = begin
        for j in range(begin, len(self.tokens)):
            if self._raw(self.tokens[j]) == ";":  # not a string holding one
                pieces.append((first, j))
                first = j + 1
        for lo, hi in pieces:
            if hi > lo and self._raw(self.tokens[hi - 1]).upper() in _DANGLING:
                raise self._incomplete(hi - 1)
            for j in range(lo, hi):
                if self.tokens[j].text.upper() in _BODY_WORDS and self._starts_statement(j, lo):
                    inner = _Reader(
                        self.text,
                        self.source,
                        self.start + self.tokens[j].start,
                        self.start + self.tokens[hi - 1].end + 1,
                    )
                    made = inner.statement({})
                    for op in made or ():
                        if not isinstance(op, ops.Unknown):
                            yield op
                    break

    def _starts_statement(self, j: int, lo: int) -> bool:
        if j == lo:
            return True
        before = self.tokens[j - 1].text.upper()
        return before in ("THEN", "ELSE", "BEGIN", "DO", "LOOP", "REPEAT")

    # -- CREATE TABLE and CREATE INDEX --------------------------------------------------------

    def create_table(self, i: int) -> ops.Op:
        exists = self.at(i, "IF", "NOT", "EXISTS")
        if exists:
            i += 3
        table, i = self.name(i)
        if i >= len(self.tokens) or self.tokens[i].text != "(":
            as_query = any(word in ("SELECT", "AS") for word in self.words(i))
            return ops.CreateTable(
                table=table, if_not_exists=exists, as_query=as_query, span=self.span
            )
        end = self.parens(i)
        columns: list[ops.Column] = []
        constraints: list[ops.ConstraintDef] = []
        items = list(self.items(i + 1, end - 1))
        column_items = [(lo, hi) for lo, hi in items if self.words(lo, lo + 1)[0] not in _ELEMENTS]
        read = dict(zip(column_items, self.columns(column_items), strict=True))
        for lo, hi in items:
            element = read[lo, hi] if (lo, hi) in read else self.table_element(table, lo, hi)
            if isinstance(element, ops.Column):
                columns.append(element)
            elif isinstance(element, ops.ConstraintDef):
                constraints.append(element)
            elif isinstance(element, ops.CreateIndex) and element.unique:
                constraints.append(
                    ops.ConstraintDef("unique", element.name, element.columns, span=element.span)
                )
        for col in columns:
            constraints.extend(c for c in col.constraints if c.kind == "primary_key")
        return ops.CreateTable(
            table=table,
            columns=tuple(replace(c, constraints=()) for c in columns),
            constraints=tuple(constraints),
            if_not_exists=exists,
            as_query="SELECT" in self.words(end),
            span=self.span,
        )

    def create_index(self, i: int) -> ops.Op:
        kind = self.words(i, i + 1)[0]
        if kind != "INDEX":
            i += 1
        i += 1  # INDEX
        exists = self.at(i, "IF", "NOT", "EXISTS")
        if exists:
            i += 3
        name, i = self.name(i)
        while i < len(self.tokens) and self.words(i, i + 1) != ["ON"]:
            i += 1
        if i >= len(self.tokens):
            return self.unknown()
        table, i = self.name(i + 1)
        if i >= len(self.tokens) or self.tokens[i].text != "(":
            return self.unknown()
        columns, _ = self.column_list(i)
        if kind in ("FULLTEXT", "SPATIAL"):
            return ops.AlterTableOther(
                table=table, subcommand=f"add_{kind.lower()}_index", span=self.span
            )
        return ops.CreateIndex(
            table=table,
            name=name,
            columns=columns,
            unique=kind == "UNIQUE",
            if_not_exists=exists,
            span=self.span,
        )

    def table_element(
        self, table: str, lo: int, hi: int
    ) -> ops.Column | ops.ConstraintDef | ops.Op | None:
        """One element of a CREATE TABLE body or of ALTER TABLE … ADD."""
        w = self.words(lo, lo + 3)
        span = self.span_of(lo, hi)
        name: str | None = None
        if w[0] == "CONSTRAINT":
            if w[1] in ("PRIMARY", "UNIQUE", "FOREIGN", "CHECK"):
                lo += 1
            else:
                name = _unquote(self._raw(self.tokens[lo + 1]))
                lo += 2
            w = self.words(lo, lo + 3)
        if w[:2] == ["PRIMARY", "KEY"]:
            start = self._find_paren(lo)
            if start is None:
                return None
            columns, _ = self.column_list(start)
            return ops.ConstraintDef("primary_key", name or "PRIMARY", columns, span=span)
        if w[0] == "FOREIGN":
            start = self._find_paren(lo)
            if start is None:
                return None
            columns, j = self.column_list(start)
            if not self.at(j, "REFERENCES"):
                return None
            ref, j = self.name(j + 1)
            ref_columns = self.column_list(j)[0] if j < hi and self.tokens[j].text == "(" else ()
            if name is None and self.tokens[lo + 2].text != "(":
                name = _unquote(self._raw(self.tokens[lo + 2]))
            return ops.ConstraintDef(
                "foreign_key", name, columns, ref_table=ref, ref_columns=ref_columns, span=span
            )
        if w[0] == "CHECK":
            start = self._find_paren(lo)
            if start is None:
                return None
            expr = self.text_of(start + 1, self.parens(start) - 1)
            return ops.ConstraintDef("check", name, expr=expr, span=span)
        if w[0] in ("UNIQUE", "INDEX", "KEY", "FULLTEXT", "SPATIAL"):
            start = self._find_paren(lo)
            if start is None:
                return None
            columns, _ = self.column_list(start)
            j = lo + 1
            while j < start and self.words(j, j + 1)[0] in ("INDEX", "KEY"):
                j += 1
            index_name = _unquote(self._raw(self.tokens[j])) if j < start else name
            if w[0] in ("FULLTEXT", "SPATIAL"):
                return ops.AlterTableOther(
                    table=table, subcommand=f"add_{w[0].lower()}_index", span=span
                )
            return ops.CreateIndex(
                table=table,
                name=index_name or name,
                columns=columns,
                unique=w[0] == "UNIQUE",
                span=span,
            )
        if w[0] in ("PERIOD", "LIKE"):
            return None
        return self.column(lo, hi)

    def _find_paren(self, lo: int) -> int | None:
        for j in range(lo, len(self.tokens)):
            if self.tokens[j].text == "(":
                return j
        return None

    def columns(self, ranges: Sequence[tuple[int, int]]) -> list[ops.Column | None]:
        """Several column definitions read by sqlglot at once (one parse for a whole CREATE
        TABLE is most of the time a MySQL file takes); one at a time if that fails."""
        from sqlglot import exp, parse_one
        from sqlglot.errors import ParseError

        if not ranges:
            return []
        definitions = ",\n".join(self.text_of(lo, hi) for lo, hi in ranges)
        try:
            tree = parse_one(f"CREATE TABLE _t ({definitions})", read="mysql")
        except ParseError:
            tree = None
        cols = (
            tree.this.expressions if tree is not None and isinstance(tree.this, exp.Schema) else []
        )
        if len(cols) != len(ranges) or not all(isinstance(c, exp.ColumnDef) for c in cols):
            return [self.column(lo, hi) for lo, hi in ranges]
        return [
            _column(cd, self.span_of(lo, hi), self.type_span(lo, hi))
            for cd, (lo, hi) in zip(cols, ranges, strict=True)
        ]

    def column(self, lo: int, hi: int) -> ops.Column | None:
        """A column definition, read by sqlglot (types, NOT NULL, DEFAULT, CHARACTER SET)."""
        from sqlglot import exp, parse_one
        from sqlglot.errors import ParseError

        definition = self.text_of(lo, hi)
        try:
            tree = parse_one(f"CREATE TABLE _t ({definition})", read="mysql")
        except ParseError:
            return None
        schema = tree.this
        cols = schema.expressions if isinstance(schema, exp.Schema) else []
        if len(cols) != 1 or not isinstance(cols[0], exp.ColumnDef):
            return None
        return _column(cols[0], self.span_of(lo, hi), self.type_span(lo, hi))

    def type_span(self, lo: int, hi: int) -> ops.Span:
        """Where the type of the column definition from token ``lo`` to ``hi`` is written:
        its words (``DOUBLE PRECISION``, ``NATIONAL CHAR``), its parenthesised arguments and
        ``UNSIGNED``/``ZEROFILL``, up to the first attribute (``NOT NULL``, ``CHARACTER
        SET``)."""
        first = lo + 1  # after the column's name
        if first >= hi:
            return self.span_of(lo, hi)
        end = first + 1
        while end < hi and self._type_word(end):
            end += 1
        if end < hi and self.tokens[end].text == "(":
            end = min(self.parens(end), hi)
        while end < hi and self.words(end, end + 1)[0] in ("UNSIGNED", "SIGNED", "ZEROFILL"):
            end += 1
        return self.span_of(first, end)

    def _type_word(self, i: int) -> bool:
        word = self.words(i, i + 1)[0]
        if word == "CHARACTER":  # NATIONAL CHARACTER, not CHARACTER SET
            return self.words(i + 1, i + 2) != ["SET"]
        return word in ("PRECISION", "VARYING", "VARCHAR", "CHAR")

    # -- ALTER TABLE ----------------------------------------------------------------------------

    def alter_table(self, i: int) -> Iterator[ops.Op]:
        if self.at(i, "IF", "EXISTS"):
            i += 2
        table, i = self.name(i)
        made = False
        for lo, hi in self.items(i, len(self.tokens)):
            for op in self.alter_clause(table, lo, hi):
                made = True
                yield op
        if not made:
            # Only ALGORITHM= / LOCK= (or nothing): a null rebuild request.
            yield ops.AlterTableOther(table=table, subcommand="force", span=self.span)

    def alter_clause(self, table: str, lo: int, hi: int) -> Iterator[ops.Op]:
        w = self.words(lo, min(hi, lo + 4))
        span = self.span_of(lo, hi)
        head = w[0]
        if head in ("ALGORITHM", "LOCK"):
            return
        if head == "ADD":
            yield from self.alter_add(table, lo + 1, hi)
        elif head == "DROP":
            yield self.alter_drop(table, lo + 1, hi)
        elif head in ("MODIFY", "CHANGE"):
            yield from self.alter_change(table, head, lo + 1, hi)
        elif head == "ALTER":
            yield self.alter_alter(table, lo + 1, hi)
        elif head == "RENAME":
            yield self.alter_rename(table, lo + 1, hi)
        elif w[:3] == ["CONVERT", "TO", "CHARACTER"] or w[:2] == ["CONVERT", "TO"]:
            yield ops.AlterTableOther(table=table, subcommand="convert_charset", span=span)
        elif head in ("DEFAULT", "CHARACTER", "CHARSET", "COLLATE"):
            yield ops.AlterTableOther(table=table, subcommand="default_charset", span=span)
        elif head in ("ENGINE", "FORCE"):
            yield ops.AlterTableOther(table=table, subcommand="force", span=span)
        elif head in ("ROW_FORMAT", "KEY_BLOCK_SIZE"):
            yield ops.AlterTableOther(table=table, subcommand="row_format", span=span)
        elif head == "AUTO_INCREMENT":
            yield ops.AlterTableOther(table=table, subcommand="auto_increment", span=span)
        elif head == "COMMENT":
            yield ops.AlterTableOther(table=table, subcommand="table_comment", span=span)
        else:
            yield self.unknown(lo, hi)

    def alter_add(self, table: str, lo: int, hi: int) -> Iterator[ops.Op]:
        span = self.span_of(lo - 1, hi)
        w = self.words(lo, lo + 4)
        if w[0] == "PARTITION":
            yield ops.AlterTableOther(table=table, subcommand="add_partition", span=span)
            return
        is_column = w[0] == "COLUMN"
        if is_column:
            lo += 1
        exists = self.at(lo, "IF", "NOT", "EXISTS")
        if exists:
            lo += 3
        if is_column and lo < hi and self.tokens[lo].text == "(":
            for a, b in self.items(lo + 1, self.parens(lo) - 1):
                col = self.column(a, b)
                yield (
                    ops.AddColumn(table=table, column=col, if_not_exists=exists, span=span)
                    if col
                    else self.unknown(a, b)
                )
            return
        hi, _ = self._position(lo, hi)
        element = self.column(lo, hi) if is_column else self.table_element(table, lo, hi)
        if isinstance(element, ops.Column):
            yield ops.AddColumn(table=table, column=element, if_not_exists=exists, span=span)
        elif isinstance(element, ops.ConstraintDef):
            yield ops.AddConstraint(table=table, constraint=element, span=span)
        elif isinstance(element, ops.CreateIndex):
            yield replace(element, span=span, if_not_exists=exists)
        elif isinstance(element, ops.Op):
            yield replace(element, span=span)
        else:
            yield self.unknown(lo - 1, hi)

    def _position(self, lo: int, hi: int) -> tuple[int, str | None]:
        """A trailing ``FIRST`` or ``AFTER col``: where the clause's definition ends, and the
        position."""
        if hi - lo >= 2 and self.words(hi - 1, hi) == ["FIRST"]:
            return hi - 1, "first"
        if hi - lo >= 3 and self.words(hi - 2, hi - 1) == ["AFTER"]:
            return hi - 2, "after"
        return hi, None

    def alter_drop(self, table: str, lo: int, hi: int) -> ops.Op:
        span = self.span_of(lo - 1, hi)
        w = self.words(lo, lo + 3)
        if w[:2] == ["PRIMARY", "KEY"]:
            return ops.DropConstraint(table=table, name="PRIMARY", span=span)
        kind = w[0]
        if w[:2] == ["FOREIGN", "KEY"]:
            kind, lo = "FOREIGN", lo + 2
        elif kind in ("INDEX", "KEY", "CONSTRAINT", "CHECK", "COLUMN", "PARTITION"):
            lo += 1
        else:
            kind = "COLUMN"
        exists = self.at(lo, "IF", "EXISTS")
        if exists:
            lo += 2
        if lo >= hi:
            return self.unknown(lo - 1, hi)
        name = _unquote(self._raw(self.tokens[lo]))
        if kind == "COLUMN":
            return ops.DropColumn(table=table, column=name, if_exists=exists, span=span)
        if kind in ("INDEX", "KEY"):
            return ops.DropIndex(indexes=(name,), if_exists=exists, span=span)
        if kind == "PARTITION":
            return ops.AlterTableOther(table=table, subcommand="drop_partition", span=span)
        return ops.DropConstraint(table=table, name=name, if_exists=exists, span=span)

    def alter_change(self, table: str, head: str, lo: int, hi: int) -> Iterator[ops.Op]:
        span = self.span_of(lo - 1, hi)
        if self.words(lo, lo + 1) == ["COLUMN"]:
            lo += 1
        if self.at(lo, "IF", "EXISTS"):
            lo += 2
        old = None
        if head == "CHANGE":
            old = _unquote(self._raw(self.tokens[lo]))
            lo += 1
        end, position = self._position(lo, hi)
        col = self.column(lo, end)
        if col is None:
            yield self.unknown(lo - 1, hi)
            return
        if old is not None and old != col.name:
            yield ops.RenameColumn(table=table, column=old, new_name=col.name, span=span)
        yield from column_changes(table, col, span)
        if position:
            yield ops.AlterTableOther(table=table, subcommand="reorder_column", span=span)

    def alter_alter(self, table: str, lo: int, hi: int) -> ops.Op:
        span = self.span_of(lo - 1, hi)
        w = self.words(lo, hi)
        if w[0] in ("INDEX", "KEY"):
            return ops.AlterTableOther(table=table, subcommand="index_visibility", span=span)
        if w[0] in ("CHECK", "CONSTRAINT"):
            return ops.AlterTableOther(table=table, subcommand="check_enforcement", span=span)
        if w[0] == "COLUMN":
            lo, w = lo + 1, w[1:]
        column = _unquote(self._raw(self.tokens[lo]))
        if w[1:3] == ["SET", "DEFAULT"]:
            sql = self.text_of(lo + 3, hi)
            return ops.SetDefault(table=table, column=column, default=_default(sql), span=span)
        if w[1:3] == ["DROP", "DEFAULT"]:
            return ops.DropDefault(table=table, column=column, span=span)
        if w[1:2] == ["SET"]:
            return ops.AlterTableOther(table=table, subcommand="column_visibility", span=span)
        return self.unknown(lo - 1, hi)

    def alter_rename(self, table: str, lo: int, hi: int) -> ops.Op:
        span = self.span_of(lo - 1, hi)
        w = self.words(lo, hi)
        if w[0] in ("COLUMN", "INDEX", "KEY") and "TO" in w:
            old = _unquote(self._raw(self.tokens[lo + 1]))
            new = _unquote(self._raw(self.tokens[lo + w.index("TO") + 1]))
            if w[0] == "COLUMN":
                return ops.RenameColumn(table=table, column=old, new_name=new, span=span)
            return ops.RenameIndex(index=old, new_name=new, span=span)
        if w[0] in ("TO", "AS"):
            lo += 1
        return ops.RenameTable(table=table, new_name=self.name(lo)[0], span=span)


def type_ref(text: str) -> ops.TypeRef | None:
    """A column type as MySQL writes it (``bigint(20) unsigned``, ``enum('a','b')``), in the
    schema model's spelling: what introspection reads from information_schema goes through
    the same mapping as what migrations declare."""
    from sqlglot import exp, parse_one
    from sqlglot.errors import ParseError

    try:
        tree = parse_one(f"CREATE TABLE _t (c {text})", read="mysql")
    except ParseError:
        return None
    cols = tree.this.expressions if isinstance(tree.this, exp.Schema) else []
    if len(cols) != 1 or not isinstance(cols[0], exp.ColumnDef):
        return None
    return _column(cols[0], ops.NO_SPAN).type


def column_changes(table: str, col: ops.Column, span: ops.Span) -> Iterator[ops.Op]:
    """What ``MODIFY col <definition>`` does, as ops: the definition replaces the column's
    type, nullability and default all at once, so a default left out is a default dropped.
    :func:`resolve` later removes the parts that change nothing the schema knows."""
    yield ops.AlterColumnType(table=table, column=col.name, type=col.type, span=span)
    if col.not_null:
        yield ops.SetNotNull(table=table, column=col.name, span=span)
    else:
        yield ops.DropNotNull(table=table, column=col.name, span=span)
    if col.default is not None:
        yield ops.SetDefault(table=table, column=col.name, default=col.default, span=span)
    elif not col.identity:
        yield ops.DropDefault(table=table, column=col.name, span=span)


def _default(sql: str) -> ops.Default:
    volatile = bool(re.search(r"\b(RAND|UUID|UUID_SHORT|SYSDATE)\s*\(", sql, re.I))
    return ops.Default(sql=sql.strip(), volatile=volatile)


def _column(cd: Any, span: ops.Span, type_span: ops.Span = ops.NO_SPAN) -> ops.Column:
    from sqlglot import exp

    kind = cd.args.get("kind")
    name = "unknown"
    mods: list[int] = []
    values: list[str] = []
    if isinstance(kind, exp.DataType):
        dtype = kind.this.name if hasattr(kind.this, "name") else str(kind.this)
        name = _TYPES.get(dtype, dtype.lower())
        for param in kind.expressions:
            inner = param.this if isinstance(param, exp.DataTypeParam) else param
            if isinstance(inner, exp.Literal) and inner.is_string:
                values.append(inner.this)
            elif isinstance(inner, exp.Literal) and inner.this.isdigit():
                mods.append(int(inner.this))
    if name in _INTEGERS:
        mods = []  # a display width, not a limit: INT(11) and INT are the same type
    not_null = identity = generated = False
    default: ops.Default | None = None
    charset = collation = None
    constraints: list[ops.ConstraintDef] = []
    for c in cd.constraints:
        k = c.args.get("kind")
        if isinstance(k, exp.NotNullColumnConstraint):
            not_null = not k.args.get("allow_null")
        elif isinstance(k, exp.PrimaryKeyColumnConstraint):
            not_null = True
            constraints.append(ops.ConstraintDef("primary_key", "PRIMARY", (cd.name,), span=span))
        elif isinstance(k, exp.AutoIncrementColumnConstraint):
            identity = True
        elif isinstance(k, exp.DefaultColumnConstraint):
            default = _default(k.this.sql("mysql"))
            if default.sql.upper() == "NULL":
                default = None
        elif isinstance(k, exp.ComputedColumnConstraint):
            generated = bool(k.args.get("persisted"))
        elif isinstance(k, exp.CharacterSetColumnConstraint):
            charset = k.this.name.lower()
        elif isinstance(k, exp.CollateColumnConstraint):
            collation = k.this.name.lower()
    if charset is None and collation and "_" in collation:
        charset = collation.split("_", 1)[0]
    return ops.Column(
        name=cd.name,
        type=ops.TypeRef(
            name,
            tuple(mods),
            span=type_span,
            charset=charset,
            collation=collation,
            values=tuple(values),
        ),
        not_null=not_null,
        default=default,
        identity=identity,
        generated_stored=generated,
        constraints=tuple(constraints),
        span=span,
    )


# -- resolving MODIFY against the schema -------------------------------------------------------


def _same_type(old: ops.TypeRef, new: ops.TypeRef) -> bool:
    return (
        old.name == new.name
        and old.mods == new.mods
        and old.values == new.values
        and (new.charset is None or old.charset == new.charset)
        and (new.collation is None or old.collation == new.collation)
    )


def resolve(statements: Sequence[ops.Statement], schema: Any) -> list[ops.Statement]:
    """Drop the parts of ``MODIFY``/``CHANGE`` that change nothing the schema model knows
    (the same type, NOT NULL again, the same default), so that restating a column to change
    its comment is not read as a type change. ``schema`` is replayed on as it goes: pass a
    copy."""
    out = []
    for st in statements:
        kept: list[ops.Op] = []
        for op in st.ops:
            if not _no_change(op, schema):
                kept.append(op)
            schema.apply(op)
        if not kept:
            table = getattr(st.ops[0], "table", "")
            kept = [ops.AlterTableOther(table=table, subcommand="column_attributes", span=st.span)]
        out.append(replace(st, ops=tuple(kept)) if len(kept) != len(st.ops) else st)
    return out


def _no_change(op: ops.Op, schema: Any) -> bool:
    table = schema.table(getattr(op, "table", "") or "")
    if table is None:
        return False
    col = table.columns.get(getattr(op, "column", ""))
    if col is None:
        return False
    match op:
        case ops.AlterColumnType():
            return _same_type(col.type, op.type)
        case ops.SetNotNull():
            return bool(col.not_null)
        case ops.DropNotNull():
            return not col.not_null
        case ops.SetDefault():
            return col.default is not None and col.default.sql == op.default.sql
        case ops.DropDefault():
            return col.default is None
    return False
