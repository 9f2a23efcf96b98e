"""The text filters students pipe into (grep, wc, head, tail, sort) and the small
commands they reach for (id, whoami, clear), with the options, messages and exit statuses
of GNU grep 3.8, coreutils 9.1 and ncurses' clear, in the C locale.

Each reads its FILE operands through the process that runs it (so /proc shows that
process's namespace) and, without one or for ``-``, what the shell piped or redirected in.
"""
from __future__ import annotations

import re
from typing import Callable

from .common import GROUPS, PASSWD, Ctx, Exit, c_strtol, strerror
from .getopt import GetoptError, LongOpt, getopt_long


def _inputs(ctx: Ctx, files: list[str], fail_status: int) -> list[tuple[str, str | None]]:
    """(name, text or None when it could not be read) for each operand; a message for
    each that cannot be read."""
    out: list[tuple[str, str | None]] = []
    for name in files or ["-"]:
        if name == "-":
            out.append((name, ctx.stdin))
            continue
        try:
            out.append((name, ctx.proc.read_file(ctx.shell.abspath(name))))
        except OSError as e:
            ctx.warnx(f"{name}: {strerror(e.errno)}")
            out.append((name, None))
        except IsADirectoryError:
            ctx.warnx(f"{name}: Is a directory")
            out.append((name, None))
    return out


def _options(ctx: Ctx, args: list[str], short: str, longs: tuple[LongOpt, ...] = (),
             status: int = 1) -> tuple[list[tuple[str, str | None]], list[str]]:
    """getopt_long, or the tool's message and ``Try 'PROG --help'`` (exit ``status``)."""
    try:
        return getopt_long(args, short, longs)
    except GetoptError as e:
        ctx.warnx(str(e))
        if ctx.prog == "grep":
            ctx.ewrite("Usage: grep [OPTION]... PATTERNS [FILE]...\n")
        ctx.errtryhelp(status)


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
        members.append(re.escape(ch) if ch in "\\[]^-" else ch)
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
        """The operator ``ch`` at ``i`` is (with its backslash in a BRE), or None."""
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
                       re.IGNORECASE if "i" in flags else 0)
    invert = "v" in flags
    inputs = _inputs(ctx, operands, 2)
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
    inputs = _inputs(ctx, operands, 1)
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
    for name, text in _inputs(ctx, operands, 1):
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
              LongOpt("field-separator", 1, "t"), LongOpt("ignore-case", 0, "f"))


def _number_prefix(text: str) -> float:
    """sort -n's key: the leading number (blanks skipped), 0 without one."""
    m = re.match(r"\s*(-?[0-9]+(?:\.[0-9]*)?|-?\.[0-9]+)", text)
    return float(m.group(1)) if m else 0.0


def sort(ctx: Ctx, args: list[str]) -> int:
    """sort [-rnuf] [-k N[,M]] [-t SEP] [FILE...]: lines in byte order (the C locale), by
    number with -n; a tie is broken by the whole line."""
    opts, operands = _options(ctx, args, "rnufk:t:", _SORT_LONG, 2)
    flags = {k for k, _ in opts}
    sep: str | None = None
    keys: list[tuple[int, int | None]] = []
    for key, arg in opts:
        if key == "t":
            if len(arg or "") != 1:
                ctx.errx(2, "multi-character tab '" + (arg or "") + "'" if arg
                         else "empty tab")
            sep = arg
        elif key == "k":
            m = re.fullmatch(r"([0-9]+)(?:,([0-9]+))?", arg or "")
            if m is None or int(m.group(1)) == 0:
                ctx.errx(2, f"invalid number at field start: invalid count at start of "
                            f"'{arg}'")
            keys.append((int(m.group(1)), int(m.group(2)) if m.group(2) else None))
    lines: list[str] = []
    status = 0
    for _name, text in _inputs(ctx, operands, 2):
        if text is None:
            status = 2
            continue
        lines.extend(line.rstrip("\n") for line in _lines(text))
    if status:
        raise Exit(2)

    def fields(line: str) -> list[str]:
        if sep is not None:
            return line.split(sep)
        return re.findall(r"\s*\S+", line)       # blanks lead each field, as in sort

    def key_text(line: str) -> str:
        if not keys:
            return line
        start, end = keys[0]
        parts = fields(line)
        chosen = parts[start - 1:end if end is not None else None]
        return (sep or "").join(chosen)

    def order(line: str) -> tuple[object, ...]:
        text = key_text(line)
        main: object = _number_prefix(text) if "n" in flags else \
            (text.lower() if "f" in flags else text).encode("utf-8", "surrogateescape")
        return (main, line.encode("utf-8", "surrogateescape"))

    done = sorted(lines, key=order, reverse="r" in flags)
    if "u" in flags:
        seen: set[object] = set()
        unique = []
        for line in done:
            k = order(line)[0]
            if k not in seen:
                seen.add(k)
                unique.append(line)
        done = unique
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
        rgid = egid = uid if uid in GROUPS else 0
        groups = [rgid]
    else:
        p = ctx.proc
        ruid, euid, _s = p.getresuid()
        rgid, egid, _g = p.getresgid()
        groups = sorted(set(p.creds.groups))
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
