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


def _bre(pattern: str, extended: bool) -> str:
    """A POSIX basic (or extended) regular expression as Python's re reads it."""
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if not extended and nxt in "(){}|+?":
                out.append(nxt)
            elif nxt in "<>":
                out.append(r"\b")
            else:
                out.append("\\" + nxt)
            i += 2
            continue
        if ch == "[":                     # a bracket expression goes over as it is
            j = i + 1
            if pattern[j:j + 1] == "^":
                j += 1
            if pattern[j:j + 1] == "]":
                j += 1
            end = pattern.find("]", j)
            if end < 0:
                raise ValueError("Unmatched [, [^, [:, [., or [=")
            body = pattern[i + 1:end].replace("\\", "\\\\")
            out.append("[" + body + "]")
            i = end + 1
            continue
        if not extended and ch in "(){}|+?":
            out.append("\\" + ch)
        else:
            out.append(ch)
        i += 1
    return "".join(out)


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
    for pattern in (p for text in patterns for p in text.split("\n")):
        try:
            body = re.escape(pattern) if fixed else _bre(pattern, extended)
            re.compile(body)
        except (ValueError, re.error) as e:
            ctx.errx(2, str(e) if isinstance(e, ValueError) else "Invalid regular expression")
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
