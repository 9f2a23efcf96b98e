"""GNU ``getopt_long`` as glibc implements it, with glibc's messages.

The util-linux tools parse their options with ``getopt_long``; to print what they print for
a bad option, the simulated tools parse theirs the same way: short options bundle (``-qa``),
a required argument may be attached (``-S3``) or the next word, an optional one only
attached (``-amsg``, ``--all=msg``), long options match by unique prefix, and words that are
not options are moved after the options unless the option string starts with ``+`` (as
unshare and nsenter do, so that the command they run keeps its own options).
"""
from __future__ import annotations

import attrs


Options = list[tuple[str, "str | None"]]


class GetoptError(Exception):
    """A bad option: ``str(e)`` is glibc's message without the program name; ``options``
    are the options getopt_long returned before it (a tool acting on each option as it
    comes, as ipcrm does, has acted on those)."""

    def __init__(self, message: str, options: "Options | None" = None):
        super().__init__(message)
        self.options = options if options is not None else []


@attrs.frozen
class LongOpt:
    """One ``struct option``: ``has_arg`` is 0 (none), 1 (required) or 2 (optional)."""

    name: str
    has_arg: int
    key: str


def _short_table(optstring: str) -> dict[str, int]:
    table: dict[str, int] = {}
    i = 1 if optstring[:1] in "+-" else 0
    while i < len(optstring):
        ch = optstring[i]
        i += 1
        arg = 0
        if optstring[i:i + 2] == "::":
            arg, i = 2, i + 2
        elif optstring[i:i + 1] == ":":
            arg, i = 1, i + 1
        table[ch] = arg
    return table


def getopt_long(args: list[str], optstring: str,
                longopts: tuple[LongOpt, ...] = ()) -> tuple[Options, list[str]]:
    """Parse ``args`` (without the program name).

    Returns ``(options, operands)``: options as ``(key, argument or None)`` in command-line
    order, where ``key`` is the short option letter or the long option's ``key``; operands
    in order. Raises :class:`GetoptError` at the first bad option, as getopt_long returns
    ``'?'`` there (the tools then stop).
    """
    shorts = _short_table(optstring)
    stop_at_operand = optstring.startswith("+")
    opts: list[tuple[str, str | None]] = []
    operands: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        if word == "--":
            operands.extend(args[i:])
            break
        if word.startswith("--"):
            body = word[2:]
            name, eq, value = body.partition("=")
            exact = [o for o in longopts if o.name == name]
            matches = exact or [o for o in longopts if o.name.startswith(name)]
            if not matches:
                raise GetoptError(f"unrecognized option '{word}'", opts)
            if len({(o.has_arg, o.key) for o in matches}) > 1:
                names = " ".join(f"'--{o.name}'" for o in matches)
                raise GetoptError(f"option '--{name}' is ambiguous; possibilities: {names}",
                                  opts)
            opt = matches[0]
            if opt.has_arg == 0:
                if eq:
                    raise GetoptError(f"option '--{opt.name}' doesn't allow an argument",
                                      opts)
                opts.append((opt.key, None))
            elif opt.has_arg == 2:
                opts.append((opt.key, value if eq else None))
            elif eq:
                opts.append((opt.key, value))
            elif i < len(args):
                opts.append((opt.key, args[i]))
                i += 1
            else:
                raise GetoptError(f"option '--{opt.name}' requires an argument", opts)
            continue
        if word.startswith("-") and word != "-":
            j = 1
            while j < len(word):
                ch = word[j]
                j += 1
                if ch not in shorts or ch == ":":
                    raise GetoptError(f"invalid option -- '{ch}'", opts)
                kind = shorts[ch]
                if kind == 0:
                    opts.append((ch, None))
                    continue
                rest = word[j:]
                if rest:
                    opts.append((ch, rest))
                elif kind == 2:
                    opts.append((ch, None))
                elif i < len(args):
                    opts.append((ch, args[i]))
                    i += 1
                else:
                    raise GetoptError(f"option requires an argument -- '{ch}'", opts)
                break
            continue
        operands.append(word)
        if stop_at_operand:
            operands.extend(args[i:])
            break
    return opts, operands


def getopt_until_error(args: list[str], optstring: str, longopts: tuple[LongOpt, ...] = ()
                       ) -> tuple[Options, list[str], "GetoptError | None"]:
    """Like :func:`getopt_long`, for a tool that acts on each option as getopt_long returns
    it: ``(options, operands, error)``, where on a bad option ``options`` are those before
    it (the tool acts on them first, and may stop there) and ``error`` is the GetoptError
    to report after them."""
    try:
        opts, operands = getopt_long(args, optstring, longopts)
    except GetoptError as e:
        return e.options, [], e
    return opts, operands, None
