"""The text filters students pipe into (grep, wc, head, tail, sort) and the small
commands they reach for (id, whoami, clear), with the options, messages and exit statuses
of GNU grep 3.8, coreutils 9.1 and ncurses' clear, in the C locale.

Each reads its FILE operands through the process that runs it (so /proc shows that
process's namespace) and, without one or for ``-``, what the shell piped or redirected in.
"""
from __future__ import annotations

import errno
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cmp_to_key
from typing import Callable, NoReturn

from ..kernel.process import Process
from ..kernel.userns import from_kgid_munged
from .common import GROUPS, LOGIN_GID, PASSWD, Ctx, Exit, c_strtol, strerror
from .getopt import LongOpt, getopt_until_error


def _inputs(ctx: Ctx, files: list[str], cannot_open: str = "{name}: {error}",
            cannot_read: str = "{name}: {error}") -> list[tuple[str, str | None]]:
    """(name, text or None when it could not be read) for each operand, and the tool's
    message for each that cannot be opened (``cannot_open``) or read, as a directory
    (``cannot_read``)."""
    out: list[tuple[str, str | None]] = []
    for name in files or ["-"]:
        if name == "-":
            out.append((name, ctx.stdin))
            continue
        try:
            out.append((name, ctx.proc.read_file(ctx.shell.abspath(name))))
        except OSError as e:
            text = cannot_read if e.errno == errno.EISDIR else cannot_open
            ctx.warnx(text.format(name=name, error=strerror(e.errno)))
            out.append((name, None))
    return out


_HELP = {
    "grep": """Usage: grep [OPTION]... PATTERNS [FILE]...
Search for PATTERNS in each FILE.
Example: grep -i 'hello world' menu.h main.c
PATTERNS can contain multiple patterns separated by newlines.

  -E, --extended-regexp     PATTERNS are extended regular expressions
  -F, --fixed-strings       PATTERNS are strings
  -G, --basic-regexp        PATTERNS are basic regular expressions
  -e, --regexp=PATTERNS     use PATTERNS for matching
  -i, --ignore-case         ignore case distinctions in patterns and data
  -w, --word-regexp         match only whole words
  -x, --line-regexp         match only whole lines
  -v, --invert-match        select non-matching lines
  -m, --max-count=NUM       stop after NUM selected lines
  -n, --line-number         print line number with output lines
  -H, --with-filename       print file name with output lines
  -h, --no-filename         suppress the file name prefix on output
  -o, --only-matching       show only nonempty parts of lines that match
  -q, --quiet, --silent     suppress all normal output
  -l, --files-with-matches  print only names of FILEs with selected lines
  -c, --count               print only a count of selected lines per FILE

When FILE is '-', read standard input.  With no FILE, read '.' if
recursive, '-' otherwise.  With fewer than two FILEs, assume -h.
Exit status is 0 if any line is selected, 1 otherwise;
if any error occurs and -q is not given, the exit status is 2.
""",
    "wc": """Usage: wc [OPTION]... [FILE]...
Print newline, word, and byte counts for each FILE, and a total line if
more than one FILE is specified.  A word is a non-zero-length sequence of
printable characters delimited by white space.

With no FILE, or when FILE is -, read standard input.

  -c, --bytes            print the byte counts
  -m, --chars            print the character counts
  -l, --lines            print the newline counts
  -L, --max-line-length  print the maximum display width
  -w, --words            print the word counts
""",
    "head": """Usage: head [OPTION]... [FILE]...
Print the first 10 lines of each FILE to standard output.
With more than one FILE, precede each with a header giving the file name.

With no FILE, or when FILE is -, read standard input.

  -c, --bytes=[-]NUM       print the first NUM bytes of each file;
                             with the leading '-', print all but the last
                             NUM bytes of each file
  -n, --lines=[-]NUM       print the first NUM lines instead of the first 10;
                             with the leading '-', print all but the last
                             NUM lines of each file
  -q, --quiet, --silent    never print headers giving file names
  -v, --verbose            always print headers giving file names
""",
    "tail": """Usage: tail [OPTION]... [FILE]...
Print the last 10 lines of each FILE to standard output.
With more than one FILE, precede each with a header giving the file name.

With no FILE, or when FILE is -, read standard input.

  -c, --bytes=[+]NUM       output the last NUM bytes; or use -c +NUM to
                             output starting with byte NUM of each file
  -n, --lines=[+]NUM       output the last NUM lines, instead of the last 10;
                             or use -n +NUM to output starting with line NUM
  -q, --quiet, --silent    never output headers giving file names
  -v, --verbose            always output headers giving file names
""",
    "sort": """Usage: sort [OPTION]... [FILE]...
Write sorted concatenation of all FILE(s) to standard output.

With no FILE, or when FILE is -, read standard input.

  -f, --ignore-case           fold lower case to upper case characters
  -n, --numeric-sort          compare according to string numerical value
  -r, --reverse               reverse the result of comparisons
  -k, --key=KEYDEF          sort via a key; KEYDEF gives location and type
  -t, --field-separator=SEP  use SEP instead of non-blank to blank transition
  -u, --unique              with -c, check for strict ordering;
                              without -c, output only the first of an equal run

KEYDEF is F[.C][OPTS][,F[.C][OPTS]] for start and stop position, where F is a
field number and C a character position in the field; both are origin 1, and
the stop position defaults to the line's end.  If neither -t nor -b is in
effect, characters in a field are counted from the beginning of the preceding
whitespace.  OPTS is one or more single-letter ordering options [bdfgiMhnRrV],
which override global ordering options for that key.  If no key is given, use
the entire line as the key.  Use --debug to diagnose incorrect key usage.
""",
    "id": """Usage: id [OPTION]... [USER]...
Print user and group information for each specified USER,
or (when USER omitted) for the current process.

  -g, --group    print only the effective group ID
  -G, --groups   print all group IDs
  -n, --name     print a name instead of a number, for -ugG
  -r, --real     print the real ID instead of the effective ID, with -ugG
  -u, --user     print only the effective user ID
""",
    "whoami": """Usage: whoami [OPTION]...
Print the user name associated with the current effective user ID.
Same as id -un.
""",
}
_HELP_OPT = LongOpt("help", 0, "\x00help")


def _options(ctx: Ctx, args: list[str], short: str, longs: tuple[LongOpt, ...] = (),
             status: int = 1) -> tuple[list[tuple[str, str | None]], list[str]]:
    """getopt_long, with --help (the tool's help on stdout, exit 0); or the tool's message
    and ``Try 'PROG --help'`` (exit ``status``)."""
    opts, operands, error = getopt_until_error(args, short, longs + (_HELP_OPT,))
    if any(key == _HELP_OPT.key for key, _ in opts):
        ctx.usage(_HELP[ctx.prog] + "\nThe ipcsim shell models the options above only"
                  + (" (with the orderings b, f, n, r).\n" if ctx.prog == "sort" else ".\n"))
    if error is not None:
        ctx.warnx(str(error))
        if ctx.prog == "grep":
            ctx.ewrite("Usage: grep [OPTION]... PATTERNS [FILE]...\n")
        ctx.errtryhelp(status)
    return opts, operands


def _lines(text: str) -> list[str]:
    """The lines of ``text``, each with its newline (the last may have none)."""
    return text.splitlines(keepends=True) if "\r" not in text and "\v" not in text \
        and "\f" not in text and "\x1c" not in text else _split_nl(text)


def _split_nl(text: str) -> list[str]:
    parts = text.split("\n")
    out = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        out.append(parts[-1])
    return out


# --- grep ----------------------------------------------------------------------------------
_GREP_LONG = (LongOpt("ignore-case", 0, "i"), LongOpt("invert-match", 0, "v"),
              LongOpt("count", 0, "c"), LongOpt("line-number", 0, "n"),
              LongOpt("word-regexp", 0, "w"), LongOpt("line-regexp", 0, "x"),
              LongOpt("extended-regexp", 0, "E"), LongOpt("fixed-strings", 0, "F"),
              LongOpt("basic-regexp", 0, "G"), LongOpt("quiet", 0, "q"),
              LongOpt("silent", 0, "q"), LongOpt("only-matching", 0, "o"),
              LongOpt("no-filename", 0, "h"), LongOpt("with-filename", 0, "H"),
              LongOpt("files-with-matches", 0, "l"), LongOpt("regexp", 1, "e"),
              LongOpt("max-count", 1, "m"))


class RegexError(ValueError):
    """A pattern GNU grep refuses; the text is its message."""


# The POSIX classes in the C locale, as the members of a Python character class.
_CLASSES = {"alpha": "a-zA-Z", "digit": "0-9", "alnum": "0-9A-Za-z", "upper": "A-Z",
            "lower": "a-z", "space": " \\t\\n\\r\\f\\v", "blank": " \\t",
            "punct": "!-/:-@\\[-`{-~", "print": " -~", "graph": "!-~",
            "cntrl": "\\x00-\\x1f\\x7f", "xdigit": "0-9A-Fa-f"}
_RE_DUP_MAX = 0x7FFF
# The GNU escapes that keep a meaning; any other escaped character is itself.
_GNU_ESCAPES = {"w": r"\w", "W": r"\W", "s": r"\s", "S": r"\S", "b": r"\b", "B": r"\B",
                "<": r"\b(?=\w)", ">": r"\b(?<=\w)", "`": r"\A", "'": r"\Z"}


def _bracket(pattern: str, i: int) -> tuple[str, int]:
    """The bracket expression opening at ``pattern[i]`` as a Python class, and the index
    after its ``]``."""
    j = i + 1
    negate = pattern[j:j + 1] == "^"
    j += negate
    members: list[str] = []
    last: str | None = None          # the previous single character (a range may start)
    first = True
    while True:
        if j >= len(pattern):
            raise RegexError("Invalid regular expression" if i == len(pattern) - 1 else
                             "Unmatched [, [^, [:, [., or [=")
        ch = pattern[j]
        if ch == "]" and not first:
            break
        first = False
        if ch == "[" and pattern[j + 1:j + 2] in (":", ".", "="):
            kind = pattern[j + 1]
            close = pattern.find(kind + "]", j + 2)
            if close < 0:
                raise RegexError("Unmatched [, [^, [:, [., or [=")
            name = pattern[j + 2:close]
            j = close + 2
            if kind == ":":
                if name not in _CLASSES:
                    raise RegexError("Invalid character class name")
                if pattern[j:j + 1] == "-" and pattern[j + 1:j + 2] not in ("]", ""):
                    raise RegexError("Invalid range end")
                members.append(_CLASSES[name])
                last = None
                continue
            if len(name) != 1:
                raise RegexError("Invalid collation character")
            ch = name
        else:
            j += 1
        if ch == "-" and last is not None and pattern[j:j + 1] not in ("]", ""):
            hi = pattern[j]
            if hi == "[" and pattern[j + 1:j + 2] in (".", "="):
                close = pattern.find(pattern[j + 1] + "]", j + 2)
                hi, j = pattern[j + 2:close], close + 2
            elif hi == "[" and pattern[j + 1:j + 2] == ":":
                raise RegexError("Invalid range end")
            else:
                j += 1
            if len(hi) != 1 or ord(hi) < ord(last):
                raise RegexError("Invalid range end")
            members.append("-" + re.escape(hi))
            last = None
            continue
        members.append(re.escape(ch) if ch in "\\[]^-&~|" else ch)   # (&& ~~ ||: set ops)
        last = ch
    body = "".join(members)
    if re.fullmatch(r":[a-z]+:", pattern[i + 1:j]):
        name = pattern[i + 1:j]
        raise RegexError(f"character class syntax is [[{name}]], not [{name}]")
    return ("[^" if negate else "[") + body + "]", j + 1


def _interval(pattern: str, i: int, extended: bool) -> tuple[str, int] | None:
    """The ``{m,n}`` (``\\{m,n\\}`` in a BRE) whose brace is at ``pattern[i]``, as Python
    writes it, and the index after it; None when an ERE brace is a plain character."""
    close = "}" if extended else "\\}"
    m = re.compile(r"([0-9]*)(,([0-9]*))?" + re.escape(close)).match(pattern, i + (1 if extended else 2))
    if m is None or (not m.group(1) and not m.group(2)):
        if extended:
            return None
        if pattern.find(close, i) < 0:
            raise RegexError("Unmatched \\{")
        raise RegexError("Invalid content of \\{\\}")
    low = int(m.group(1) or 0)
    high = None if m.group(2) and not m.group(3) else int(m.group(3) or m.group(1))
    if high is not None and high < low:
        raise RegexError("Invalid content of \\{\\}")
    if max(low, high or 0) > _RE_DUP_MAX:
        raise RegexError("Regular expression too big")
    return "{%d,%s}" % (low, "" if high is None else high), m.end()


def _bre(pattern: str, extended: bool, groups: int = 0,
         warn: Callable[[str], None] = lambda text: None) -> tuple[str, int]:
    """A POSIX basic (or extended) regular expression, with GNU's extensions, as Python's
    re reads it, and the number of groups it opens (``groups`` are already open before it,
    so that back-references of several patterns joined with ``|`` stay right). ``warn``
    receives GNU grep's warnings; a pattern grep refuses raises RegexError."""
    out: list[str] = []
    atom: int | None = None        # where in ``out`` the last atom starts
    quantified = False
    opened: list[tuple[int, int]] = []     # (number, start in ``out``) of open groups
    closed: set[int] = set()
    count = groups
    i = 0

    def special(ch: str, i: int) -> str | None:
        """The operator that ``ch`` at ``i`` begins (with its backslash in a BRE), or None."""
        if extended:
            return ch if pattern[i] in "(){}|+?*" else None
        if ch == "*":
            return "*"
        if ch == "\\" and i + 1 < len(pattern) and pattern[i + 1] in "(){}|+?":
            return pattern[i + 1]
        return None

    while i < len(pattern):
        ch = pattern[i]
        op = special(ch, i)
        step = 1 if extended or op in (None, "*") else 2
        if op in ("*", "+", "?", "{"):
            if atom is None:       # nothing to repeat: ERE drops it, BRE reads a character
                if extended:
                    warn(("{...}" if op == "{" else op) + " at start of expression")
                    i += 1
                    continue
                out.append(re.escape(op))
                atom, quantified = len(out) - 1, False
                i += step
                continue
            if op == "{":
                interval = _interval(pattern, i, extended)
                if interval is None:
                    out.append(re.escape("{"))
                    atom, quantified = len(out) - 1, False
                    i += 1
                    continue
                text, i = interval
            else:
                text = op
                i += step
            if quantified:                    # a repeat of a repeat: group it first
                out[atom:] = ["(?:" + "".join(out[atom:]) + ")"]
            out.append(text)
            quantified = True
            continue
        quantified = False
        if op == "(":
            count += 1
            opened.append((count, len(out)))
            out.append("(")
            atom = None
        elif op == ")":
            if not opened:
                if not extended:
                    raise RegexError("Unmatched ) or \\)")
                out.append(re.escape(")"))
                atom = len(out) - 1
            else:
                number, start = opened.pop()
                closed.add(number)
                out[start:] = ["".join(out[start:]) + ")"]
                atom = start
        elif op == "|":
            out.append("|")
            atom = None
        elif ch == "\\":
            if i + 1 >= len(pattern):
                raise RegexError("Trailing backslash")
            nxt = pattern[i + 1]
            step = 2
            if nxt in "123456789":
                if int(nxt) + groups not in closed:
                    raise RegexError("Invalid back reference")
                out.append(f"(?:\\{int(nxt) + groups})")
            else:
                out.append(_GNU_ESCAPES.get(nxt, re.escape(nxt)))
            atom = None if nxt in "<>`'bB" else len(out) - 1
        elif ch == "[":
            text, step = _bracket(pattern, i)
            step -= i
            out.append(text)
            atom = len(out) - 1
        elif ch == "^" and (extended or atom is None and (not out or out[-1] in ("(", "|"))):
            out.append("^")
            atom = None
        elif ch == "$" and (extended or i + 1 == len(pattern)
                            or pattern[i + 1:i + 3] in ("\\)", "\\|")):
            out.append("$")
            atom = None
        else:
            out.append("." if ch == "." else re.escape(ch))
            atom = len(out) - 1
        i += step
    if opened:
        raise RegexError("Unmatched ( or \\(")
    return "".join(out), count - groups


def grep(ctx: Ctx, args: list[str]) -> int:
    """grep [-ivcnwxEFGqohHl] [-e PATTERN] [-m N] PATTERN [FILE...]: the lines that match
    (exit 0), none (1), or an error (2)."""
    opts, operands = _options(ctx, args, "ivcnwxEFGqohHle:m:", _GREP_LONG, 2)
    flags = {k for k, _ in opts}
    patterns = [a or "" for k, a in opts if k == "e"]
    if not patterns:
        if not operands:
            ctx.ewrite("Usage: grep [OPTION]... PATTERNS [FILE]...\n")
            ctx.errtryhelp(2)
        patterns = [operands.pop(0)]
    max_count = None
    for k, a in opts:
        if k == "m":
            value, rest = c_strtol(a or "", 10)
            if value is None or rest:
                ctx.errx(2, "invalid max count")
            max_count = value
    fixed, extended = "F" in flags, "E" in flags
    pieces = []
    groups = 0
    for pattern in (p for text in patterns for p in text.split("\n")):
        if fixed:
            body = re.escape(pattern)
        else:
            try:
                body, opened = _bre(pattern, extended, groups,
                                    lambda text: ctx.warnx("warning: " + text))
            except RegexError as e:
                ctx.errx(2, str(e))
            groups += opened
        if "w" in flags:
            body = rf"(?<!\w)(?:{body})(?!\w)"
        if "x" in flags:
            body = rf"^(?:{body})$"
        pieces.append(body)
    regex = re.compile("|".join(f"(?:{p})" for p in pieces),
                       re.ASCII | (re.IGNORECASE if "i" in flags else 0))
    invert = "v" in flags
    inputs = _inputs(ctx, operands)
    named = ("H" in flags or len(inputs) > 1) and "h" not in flags
    found, failed = False, False
    out: list[str] = []
    for name, text in inputs:
        if text is None:
            failed = True
            continue
        label = "(standard input)" if name == "-" else name
        prefix = f"{label}:" if named else ""
        count = 0
        for n, line in enumerate(_lines(text), 1):
            if max_count is not None and count >= max_count:
                break
            body = line.rstrip("\n")
            match = regex.search(body)
            if (match is not None) == invert:
                continue
            count += 1
            found = True
            if "q" in flags:
                ctx.write("".join(out))
                return 0
            if "c" in flags or "l" in flags:
                continue
            number = f"{n}:" if "n" in flags else ""
            if "o" in flags and not invert:
                out.extend(f"{prefix}{number}{m.group(0)}\n" for m in regex.finditer(body)
                           if m.group(0))
            else:
                out.append(f"{prefix}{number}{body}\n")
        if "l" in flags and count:
            out.append(f"{label}\n")
        elif "c" in flags:
            out.append(f"{prefix}{count}\n")
    ctx.write("".join(out))
    if failed and "q" not in flags:
        return 2
    return 0 if found else (2 if failed else 1)


# --- wc ------------------------------------------------------------------------------------
_WC_LONG = (LongOpt("lines", 0, "l"), LongOpt("words", 0, "w"), LongOpt("bytes", 0, "c"),
            LongOpt("chars", 0, "m"), LongOpt("max-line-length", 0, "L"))


def wc(ctx: Ctx, args: list[str]) -> int:
    """wc [-lwcmL] [FILE...]: newlines, words and bytes (with several files, a total)."""
    opts, operands = _options(ctx, args, "lwcmL", _WC_LONG)
    chosen = [k for k in "lwmcL" if (k, None) in opts] or ["l", "w", "c"]
    inputs = _inputs(ctx, operands)
    rows: list[tuple[list[int], str]] = []
    totals = [0] * len(chosen)
    status = 0
    sizes = 0
    for name, text in inputs:
        if text is None:
            status = 1
            continue
        data = text.encode("utf-8", "surrogateescape")
        counts = {"l": text.count("\n"), "w": len(text.split()), "c": len(data),
                  "m": len(text),
                  "L": max((len(line) for line in text.split("\n")), default=0)}
        row = [counts[k] for k in chosen]
        totals = [a + b if k != "L" else max(a, b) for k, a, b in zip(chosen, totals, row)]
        rows.append((row, "" if name == "-" else name))
        if name != "-" and not ctx.shell.abspath(name).startswith("/proc"):
            sizes += len(data)             # (st_size: 0 for a /proc file)
    if len(inputs) > 1:
        rows.append((totals, "total"))
    if len(chosen) == 1 and len(inputs) == 1:
        width = 1
    elif any(name == "-" for name, _ in inputs):
        width = max(7, len(str(sizes)))
    else:
        width = len(str(sizes))
    ctx.write("".join(" ".join(f"{n:{width}d}" for n in row) + (f" {name}" if name else "")
                      + "\n" for row, name in rows))
    return status


# --- head, tail ----------------------------------------------------------------------------
def _count(ctx: Ctx, text: str, what: str) -> tuple[int, str]:
    """(N, sign) of ``-n``/``-c``: sign ``-`` (all but the last N), ``+`` (from the Nth),
    or empty; the tool's message for what is not a number."""
    sign = text[:1] if text[:1] in "+-" else ""
    digits = text[len(sign):]
    value, rest = c_strtol(digits, 10)
    if value is None or rest or not digits.isascii() or value < 0:
        ctx.errx(1, f"invalid number of {what}: '{text}'")
    return value, sign


def _head_tail_args(ctx: Ctx, args: list[str]) -> tuple[str, int, str, list[str], bool]:
    """The options head and tail share: -n N, -c N, -N, -q/-v."""
    words = list(args)
    if words and re.fullmatch(r"-[0-9]+", words[0]):      # the old -N form
        words[0] = "-n" + words[0][1:]
    opts, operands = _options(ctx, words, "n:c:qv", (LongOpt("lines", 1, "n"),
                                                     LongOpt("bytes", 1, "c"),
                                                     LongOpt("quiet", 0, "q"),
                                                     LongOpt("silent", 0, "q"),
                                                     LongOpt("verbose", 0, "v")))
    unit, number, sign = "n", 10, ""
    headers = None
    for key, arg in opts:
        if key in "nc":
            unit = key
            number, sign = _count(ctx, arg or "", "lines" if key == "n" else "bytes")
        elif key == "q":
            headers = False
        elif key == "v":
            headers = True
    many = headers if headers is not None else len(operands) > 1
    return unit, number, sign, operands, many


def _cut(ctx: Ctx, args: list[str], pick: Callable[[list[str], int, str], list[str]]) -> int:
    unit, number, sign, operands, many = _head_tail_args(ctx, args)
    status = 0
    out: list[str] = []
    first = True
    for name, text in _inputs(ctx, operands, "cannot open '{name}' for reading: {error}",
                              "error reading '{name}': {error}"):
        if text is None:
            status = 1
            continue
        if many:
            label = "standard input" if name == "-" else name
            out.append(("" if first else "\n") + f"==> {label} <==\n")
        first = False
        pieces = _lines(text) if unit == "n" else list(text)
        out.append("".join(pick(pieces, number, sign)))
    ctx.write("".join(out))
    return status


def head(ctx: Ctx, args: list[str]) -> int:
    """head [-n N|-n -N|-c N|-N] [FILE...]: the first 10 lines (N; all but the last N)."""
    def pick(items: list[str], n: int, sign: str) -> list[str]:
        return items[:max(len(items) - n, 0)] if sign == "-" else items[:n]
    return _cut(ctx, args, pick)


def tail(ctx: Ctx, args: list[str]) -> int:
    """tail [-n N|-n +N|-c N] [FILE...]: the last 10 lines (N; from the Nth on)."""
    def pick(items: list[str], n: int, sign: str) -> list[str]:
        if sign == "+":
            return items[max(n - 1, 0):]
        return items[len(items) - n:] if n else []
    return _cut(ctx, args, pick)


# --- sort ----------------------------------------------------------------------------------
_SORT_LONG = (LongOpt("reverse", 0, "r"), LongOpt("numeric-sort", 0, "n"),
              LongOpt("unique", 0, "u"), LongOpt("key", 1, "k"),
              LongOpt("field-separator", 1, "t"), LongOpt("ignore-case", 0, "f"),
              LongOpt("ignore-leading-blanks", 0, "b"))
_ORDERINGS = "bfnr"          # the ordering options modelled, global or per key
_BLANKS = " \t"
_SIZE_MAX = 2**64 - 1


@dataclass
class _Key:
    """One -k KEYDEF as coreutils' struct keyfield: ``sword``/``schar`` 0-based (sword
    None: from the line's start), ``eword`` 0-based or None (to the line's end), ``echar``
    0 for the end of the field; ``orderings`` the letters given with it."""
    sword: int | None
    schar: int
    eword: int | None
    echar: int
    orderings: str


def _field_count(ctx: Ctx, spec: str, text: str, what: str) -> tuple[int, str]:
    """parse_field_count: the leading count of ``text`` (a count past SIZE_MAX is
    SIZE_MAX) and the rest."""
    m = re.match(r"[0-9]+", text)
    if m is None:
        ctx.errx(2, f"{what}: invalid count at start of '{text}'")
    return min(int(m.group(0)), _SIZE_MAX), text[m.end():]


def _parse_key(ctx: Ctx, spec: str) -> _Key:
    """A -k KEYDEF, F[.C][OPTS][,F[.C][OPTS]], with sort's messages."""
    def bad(why: str) -> NoReturn:
        ctx.errx(2, f"{why}: invalid field specification '{spec}'")

    def orderings(text: str) -> tuple[str, str]:
        m = re.match(f"[{_ORDERINGS}]*", text)
        assert m is not None
        return m.group(0), text[m.end():]

    sword, rest = _field_count(ctx, spec, spec, "invalid number at field start")
    if sword == 0:
        bad("field number is zero")
    schar = 1
    if rest[:1] == ".":
        schar, rest = _field_count(ctx, spec, rest[1:], "invalid number after '.'")
        if schar == 0:
            bad("character offset is zero")
    letters, rest = orderings(rest)
    eword: int | None = None
    echar = 0
    if rest[:1] == ",":
        end, rest = _field_count(ctx, spec, rest[1:], "invalid number after ','")
        if end == 0:
            bad("field number is zero")
        eword = end - 1
        if rest[:1] == ".":
            echar, rest = _field_count(ctx, spec, rest[1:], "invalid number after '.'")
        more, rest = orderings(rest)
        letters += more
    if rest:
        bad("stray character in field spec")
    return _Key(sword - 1, schar - 1, eword, echar, letters)


def _number_prefix(text: str) -> Decimal:
    """sort -n's key: the leading number (blanks skipped), 0 without one."""
    m = re.match(r"[ \t]*(-?[0-9]+(?:\.[0-9]*)?|-?\.[0-9]+)", text)
    return Decimal(m.group(1)) if m else Decimal(0)


def _skip_field(line: str, i: int, sep: str | None) -> int:
    """The index after the field starting at ``i`` (with its leading blanks, without -t)."""
    if sep is not None:
        j = line.find(sep, i)
        return len(line) if j < 0 else j
    while i < len(line) and line[i] in _BLANKS:
        i += 1
    while i < len(line) and line[i] not in _BLANKS:
        i += 1
    return i


def _key_span(line: str, key: _Key, sep: str | None, blanks: tuple[bool, bool]) -> str:
    """begfield .. limfield: the text of ``key`` in ``line``."""
    i = 0
    if key.sword is not None:
        for _ in range(min(key.sword, len(line) + 1)):
            i = _skip_field(line, i, sep)
            if sep is not None and i < len(line):
                i += 1
        if blanks[0]:
            while i < len(line) and line[i] in _BLANKS:
                i += 1
        i = min(len(line), i + key.schar)
    end = len(line)
    if key.eword is not None:
        end, words = 0, key.eword + (key.echar == 0)
        while end < len(line) and words:
            words -= 1
            end = _skip_field(line, end, sep)
            if sep is not None and end < len(line) and (words or key.echar):
                end += 1
        if key.echar:
            if blanks[1]:
                while end < len(line) and line[end] in _BLANKS:
                    end += 1
            end = min(len(line), end + key.echar)
    return line[i:max(i, end)]


def sort(ctx: Ctx, args: list[str]) -> int:
    """sort [-bfnru] [-k KEYDEF]... [-t SEP] [FILE...]: lines in byte order (the C locale),
    by number with -n, by the keys in turn; a tie is broken by the whole line."""
    opts, operands = _options(ctx, args, "bfnruk:t:", _SORT_LONG, 2)
    glob = "".join(k for k, _ in opts if k in _ORDERINGS)
    sep: str | None = None
    keys: list[_Key] = []
    for key, arg in opts:
        if key == "t":
            if len(arg or "") != 1:
                ctx.errx(2, "multi-character tab '" + (arg or "") + "'" if arg
                         else "empty tab")
            sep = arg
        elif key == "k":
            keys.append(_parse_key(ctx, arg or ""))
    for k in keys:                   # a key without ordering options takes the global ones
        if not k.orderings:
            k.orderings = glob
    if not keys and set(glob) - {"r"}:
        keys.append(_Key(None, 0, None, 0, glob))
    lines: list[str] = []
    for name in operands or ["-"]:          # the first file that cannot be read ends sort
        [(_name, text)] = _inputs(ctx, [name], "cannot read: {name}: {error}",
                                  "read failed: {name}: {error}")
        if text is None:
            raise Exit(2)
        lines.extend(line.rstrip("\n") for line in _lines(text))
    unique = any(k == "u" for k, _ in opts)

    def keycompare(a: str, b: str) -> int:
        for k in keys:
            blanks = ("b" in k.orderings, "b" in k.orderings)
            ta, tb = _key_span(a, k, sep, blanks), _key_span(b, k, sep, blanks)
            if "n" in k.orderings:
                na, nb = _number_prefix(ta), _number_prefix(tb)
                diff = (na > nb) - (na < nb)
            else:
                if "f" in k.orderings:
                    ta, tb = ta.upper(), tb.upper()
                ba = ta.encode("utf-8", "surrogateescape")
                bb = tb.encode("utf-8", "surrogateescape")
                diff = (ba > bb) - (ba < bb)
            if diff:
                return -diff if "r" in k.orderings else diff
        return 0

    def compare(a: str, b: str) -> int:
        diff = keycompare(a, b)
        if diff or (unique and keys):
            return diff
        ba, bb = a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape")
        diff = (ba > bb) - (ba < bb)
        return -diff if "r" in glob else diff

    done = sorted(lines, key=cmp_to_key(compare))
    if unique:
        kept: list[str] = []
        for line in done:
            if not kept or compare(kept[-1], line):
                kept.append(line)
        done = kept
    ctx.write("".join(line + "\n" for line in done))
    return 0


# --- id, whoami, clear ---------------------------------------------------------------------
def _named(number: int, names: dict[int, str]) -> str:
    return f"{number}({names[number]})" if number in names else str(number)


def id_(ctx: Ctx, args: list[str]) -> int:
    """id [-u|-g|-G] [-n] [-r] [USER]: the caller's (or USER's) ids, as coreutils prints."""
    opts, operands = _options(ctx, args, "ugGnrz", (LongOpt("user", 0, "u"),
                                                    LongOpt("group", 0, "g"),
                                                    LongOpt("groups", 0, "G"),
                                                    LongOpt("name", 0, "n"),
                                                    LongOpt("real", 0, "r")))
    flags = {k for k, _ in opts}
    if len(operands) > 1:
        ctx.warnx(f"extra operand '{operands[1]}'")
        ctx.errtryhelp(1)
    if len(flags & set("ugG")) > 1:
        ctx.errx(1, "cannot print \"only\" of more than one choice")
    if not flags & set("ugG") and flags & {"n", "r"}:
        ctx.errx(1, "cannot print only names or real IDs in default format")
    if operands:
        by_name = {name: uid for uid, name in PASSWD.items()}
        name = operands[0]
        uid = by_name.get(name)
        if uid is None:
            ctx.errx(1, f"'{name}': no such user")
        ruid = euid = uid
        rgid = egid = LOGIN_GID[uid]
        groups = [rgid]
    else:
        p = ctx.proc
        ruid, euid, _s = p.getresuid()
        rgid, egid, _g = p.getresgid()
        groups = _getgroups(p)
    real = "r" in flags

    def show(number: int, names: dict[int, str]) -> str:
        if "n" in flags:
            return names.get(number, str(number))
        return str(number)

    if "u" in flags:
        ctx.write(show(ruid if real else euid, PASSWD) + "\n")
        return 0
    if "g" in flags:
        ctx.write(show(rgid if real else egid, GROUPS) + "\n")
        return 0
    every = [rgid] + ([egid] if egid != rgid else []) + [g for g in groups
                                                         if g not in (rgid, egid)]
    if "G" in flags:
        ctx.write(" ".join(show(g, GROUPS) for g in every) + "\n")
        return 0
    text = f"uid={_named(ruid, PASSWD)} gid={_named(rgid, GROUPS)}"
    if euid != ruid:
        text += f" euid={_named(euid, PASSWD)}"
    if egid != rgid:
        text += f" egid={_named(egid, GROUPS)}"
    text += " groups=" + ",".join(_named(g, GROUPS) for g in every)
    ctx.write(text + "\n")
    return 0


def _getgroups(p: Process) -> list[int]:
    """getgroups(2): the supplementary groups in the kernel's order (sorted by kernel id),
    each as the caller's user namespace maps it (65534 where it does not)."""
    ns = p.creds.user_ns
    if ns is None:
        return sorted(p.creds.groups)
    return [from_kgid_munged(ns, g) for g in sorted(p.creds.groups)]


def whoami(ctx: Ctx, args: list[str]) -> int:
    """whoami: the name of the effective user."""
    _opts, operands = _options(ctx, args, "")
    if operands:
        ctx.warnx(f"extra operand '{operands[0]}'")
        ctx.errtryhelp(1)
    euid = ctx.proc.euid
    if euid not in PASSWD:
        ctx.errx(1, f"cannot find name for user ID {euid}")
    ctx.write(PASSWD[euid] + "\n")
    return 0


def clear(ctx: Ctx, args: list[str]) -> int:
    """clear: the terminal's clear-screen sequence (xterm's, with the scrollback)."""
    if args and args[0] != "-x":
        ctx.ewrite(f"clear: invalid option -- '{args[0][1:2] or args[0]}'\n"
                   "Usage: clear [options]\n")
        return 1
    ctx.write("\x1b[H\x1b[2J" + ("" if args else "\x1b[3J"))
    return 0
