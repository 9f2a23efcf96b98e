"""The ``ipcsim`` command: a simulated Linux machine to learn IPC namespaces on.

    ipcsim demo                      the tour of ipc_namespaces(7)
    ipcsim shell                     ipcs, ipcmk, ipcrm, unshare, nsenter, lsns ... simulated
    ipcsim run FILE                  run a scenario once and show its timeline
    ipcsim explore FILE --seeds N    run it under N seeds: which deadlock, fail or differ
    ipcsim serve [-- CMD ARGS...]    one simulated kernel for every process (the fakes)

Every subcommand takes ``--seed``: the same seed gives the same run, byte for byte.
"""
from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
from typing import TYPE_CHECKING, Any, Callable

from . import __version__

if TYPE_CHECKING:
    from .timeline import Timeline

EPILOG = """\
A scenario FILE is a Python file with a function scenario(k) that starts programs on the
fresh kernel k (k.init.fork(target=fn, args=...)) without running them, and may return a
function whose value after the run is the outcome. See examples/dining_philosophers.py.

Examples:
  ipcsim demo --seed 3
  ipcsim shell                                   # type 'help' at the prompt
  echo 'unshare --ipc ipcmk -Q; ipcs -q' | ipcsim shell
  ipcsim run examples/dining_philosophers.py --seed 33 --svg run.svg
  ipcsim explore examples/dining_philosophers.py --seeds 1000 --jobs 0
  ipcsim serve -- python3 -m pytest tests/      # sysv_ipc/posix_ipc: one simulated kernel
"""


EXAMPLES = {
    "demo": """\
Examples:
  ipcsim demo                  the tour, as the seed 0 interleaves it
  ipcsim demo --seed 3         the same story; the racing senders may arrive in another order
  ipcsim demo --source         the demo's Python source (a program to read and change)
""",
    "shell": """\
Examples:
  ipcsim shell                                   # type 'help' at the prompt
  ipcsim shell -c 'ipcmk -Q; unshare --ipc ipcs -q; ipcs -q'
  echo 'unshare --ipc ipcmk -Q; ipcs -q' | ipcsim shell
  ipcsim shell --echo < lesson.txt > transcript.txt
""",
    "run": """\
Examples:
  ipcsim run examples/dining_philosophers.py --seed 33            # a deadlock
  ipcsim run examples/dining_philosophers.py --seed 33 --svg run.svg
  ipcsim run examples/dining_philosophers.py --entry scenario_fixed --quiet
  ipcsim run my_scenario.py --traceback      # where a program failed, line by line
  ipcsim run my_scenario.py --max-steps 10000 --until 60
  ipcsim run examples/dining_philosophers.py --seed 33 --svg run.svg --pids 2,3 --x time
  ipcsim run examples/dining_philosophers.py --svg run.svg --title "A deadlock" --fold 40
  ipcsim run examples/dining_philosophers.py --seed 33 --png run.png --dpi 200
""",
    "explore": """\
Examples:
  ipcsim explore examples/dining_philosophers.py --seeds 1000 --jobs 0
  ipcsim explore examples/dining_philosophers.py --entry scenario_fixed --seeds 500
  ipcsim explore my_scenario.py --seeds 100000 --max-steps 50000   # find livelocks too
  ipcsim explore examples/pct_ordering.py --strategy pct --depth 1 --seeds 100
  ipcsim explore examples/dining_philosophers.py --entry two_fixed --strategy dfs
  ipcsim explore examples/dining_philosophers.py --strategy dfs --budget 60s
  ipcsim explore my_scenario.py --seeds 100000 --cluster tcp://scheduler:8786
  ipcsim run examples/dining_philosophers.py --entry two --schedule 2x2.3   # a replay
Ctrl-C stops it and prints what the seeds done so far found (exit status 130).
A scenario calling os._exit ends the process running it: with --jobs 2 or more, that
worker's seeds fail and the others go on; with one job, the command itself ends.
""",
    "serve": """\
Examples:
  ipcsim serve                                   # prints IPCSIM_SERVER=PATH; Ctrl-C stops it
  ipcsim serve --socket /tmp/k.sock &            # then, in any shell:
  IPCSIM_SERVER=/tmp/k.sock python3 writer.py & IPCSIM_SERVER=/tmp/k.sock python3 reader.py
  ipcsim serve -- python3 demo.py                # demo.py and its children share one kernel
  ipcsim serve --seed 7 -- python3 -m pytest tests/
Every Python process with IPCSIM_SERVER in its environment that imports sysv_ipc or
posix_ipc gets ipcsim's fakes (installed: ipcsim-autoload.pth; IPCSIM_AUTOLOAD=0 turns
that off) and acts in the served kernel as itself: its pid, credentials and parent.
""",
}


def _int(text: str) -> int:
    """A whole number as int() reads it, or argparse's message."""
    try:
        return int(text)
    except ValueError:
        digits = text.strip().lstrip("+-")
        if digits.isascii() and digits.isdigit():      # past int()'s 4,300 digits
            raise argparse.ArgumentTypeError(f"too large: {len(digits)} digits") from None
        raise argparse.ArgumentTypeError(f"not a whole number: {text[:40]!r}") from None


def _max_steps(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {value}")
    return value


def _float(text: str, what: str = "a number") -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {text[:40]!r}") from None


def _until(text: str) -> float:
    from .sim.clock import KTIME_MAX, NS
    value = _float(text, "a number of seconds")
    if not 0 <= value < KTIME_MAX / NS or math.isnan(value):
        raise argparse.ArgumentTypeError(f"must be between 0 and {KTIME_MAX // NS} seconds "
                                         f"(the end of the virtual clock), not {text[:40]}")
    return value


def _seeds(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


MAX_JOBS = 1024


def _schedule(text: str) -> str:
    from .explore.schedule import decode, encode
    try:
        return encode(decode(text))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _depth(text: str) -> int:
    value = _int(text)
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"must be between 1 and 1000, not {text[:40]}")
    return value


def _bound(text: str) -> int:
    value = _int(text)
    if not 0 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1000, not {text[:40]}")
    return value


def _budget(text: str) -> int | float:
    from .explore import parse_budget
    try:
        runs, seconds = parse_budget(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if runs is not None:
        return runs
    assert seconds is not None
    return seconds


def _jobs(text: str) -> int:
    value = _int(text)
    if not 0 <= value <= MAX_JOBS:
        raise argparse.ArgumentTypeError(f"must be between 0 (one per CPU) and {MAX_JOBS}, "
                                         f"not {text[:40]}")
    return value


def _pids(text: str) -> list[int]:
    """2,3: the processes a timeline shows."""
    pids = []
    for word in text.split(","):
        value = _int(word)
        if value < 1:
            raise argparse.ArgumentTypeError(f"not a pid: {word[:40]!r}")
        pids.append(value)
    return pids


def _ranged(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = _int(text)
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be from {lo} to {hi}, not {text[:40]}")
        return value
    return parse


def _fold(text: str) -> float:
    value = _float(text)
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text[:40]}")
    return value


def _out(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("an empty file name")
    return text


def _timeline_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--title", metavar="TEXT", help="the timeline's title")
    p.add_argument("--pids", type=_pids, metavar="2,3",
                   help="draw only these processes' lanes")
    p.add_argument("--x", choices=("calls", "time"), default="calls",
                   help="the horizontal axis: one step per call (default) or virtual time")
    p.add_argument("--width", type=_ranged(400, 20000), default=960, metavar="N",
                   help="the picture's width in pixels (default 960)")
    p.add_argument("--fold", type=_fold, metavar="N",
                   help="start a new panel every N calls (or seconds with --x time)")
    p.add_argument("--dpi", type=_ranged(10, 1200), default=100, metavar="N",
                   help="the PNG's resolution (default 100: the SVG's size; 200 doubles it)")


def _limit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-steps", type=_max_steps, metavar="N",
                   help="stop a run after N switch points: it did not finish (a "
                        "livelock in zero virtual time needs this, not --until)")
    p.add_argument("--until", type=_until, metavar="SECONDS",
                   help="stop a run when the virtual clock reaches SECONDS: if programs "
                        "still run, it did not finish")


def _parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="ipcsim", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="A simulated Linux machine for learning IPC namespaces: System V "
                    "queues, semaphores and shared memory, POSIX queues, unshare and "
                    "nsenter, with a deterministic scheduler (no root, no real kernel "
                    "objects).", epilog=EPILOG)
    top.add_argument("--version", action="version", version=f"ipcsim {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=description,
                           epilog=EXAMPLES[name],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--seed", type=_int, default=0,
                       help="the scheduler's seed (default 0): it decides every "
                            "interleaving, so the same seed gives the same output")
        return p

    demo = add("demo", "tell the story of ipc_namespaces(7)",
               "Two containers with their own limits, processes joining and leaving, a "
               "namespace kept alive by a handle and one vanishing with its last member.")
    demo.add_argument("--source", action="store_true",
                      help="print the demo's Python source instead of running it")

    shell = add("shell", "a shell on a simulated machine (ipcs, ipcmk, unshare ...)",
                "An interactive shell whose commands run as simulated processes and print "
                "what util-linux prints: unshare --ipc starts a shell in a new IPC "
                "namespace, nsenter --ipc -t PID one in another's, exit leaves it. Type "
                "'help' for the commands. With input from a file or pipe it runs it as a "
                "script: ipcsim shell < script.")
    shell.add_argument("--echo", action="store_true",
                       help="print each command after a prompt before its output "
                            "(a transcript, e.g. for documentation)")
    shell.add_argument("-c", dest="commands", metavar="COMMANDS",
                       help="run COMMANDS (lines separated by ';' or newlines) and exit")

    run = add("run", "run a scenario once and show its timeline",
              "Run the scenario of FILE once with --seed and print every system call in "
              "order (its step, virtual time, process, result), the calls still blocked at "
              "the end, and the outcome. Exit status 1 if it deadlocked, failed or did not "
              "finish.")
    run.add_argument("file", metavar="FILE", help="a Python file defining scenario(k)")
    run.add_argument("--entry", default="scenario", help="the function to run "
                     "(default: scenario)")
    run.add_argument("--svg", type=_out, metavar="OUT",
                     help="also draw the timeline into OUT (SVG)")
    run.add_argument("--png", type=_out, metavar="OUT",
                     help="also draw it into OUT (PNG, whatever its name ends with; needs "
                          "the plot extra: pip install 'ipcsim[plot]')")
    run.add_argument("--quiet", action="store_true", help="print only the outcome")
    run.add_argument("--traceback", action="store_true",
                     help="if a program fails, show the lines of the scenario that led there")
    run.add_argument("--schedule", type=_schedule, metavar="S",
                     help="replay the schedule S (as ipcsim explore prints it: the pid picked "
                          "at each choice, e.g. 2x3.3.2) instead of the seed's picks; --seed "
                          "still seeds the rest of the kernel")
    _timeline_options(run)
    _limit_options(run)
    _executor_option(run)

    explore = add("explore", "run a scenario under many interleavings: deadlocks, failures, "
                             "differing outcomes",
                  "Run the scenario of FILE under many interleavings and report which runs "
                  "deadlock, which fail, and which give which outcome. --strategy random "
                  "(the default) runs it once per seed (--seed, --seed+1, ...): replay a "
                  "seed with ipcsim run FILE --seed N. pct runs it once per seed under "
                  "probabilistic concurrency testing of --depth. dfs runs every "
                  "interleaving (with partial-order reduction; --budget caps it) and says "
                  "when it explored all. Every finding's schedule is shrunk and printed with "
                  "the command that replays it (ipcsim run FILE --schedule S) and its "
                  "timeline. Exit status 1 if any run deadlocked, failed, did not finish or "
                  "ran two ways; 130 after Ctrl-C.")
    explore.add_argument("file", metavar="FILE", help="a Python file defining scenario(k)")
    explore.add_argument("--strategy", choices=("random", "pct", "dfs"), default="random",
                         help="random: each seed picks at every switch point (default); "
                              "pct: probabilistic concurrency testing of --depth; dfs: "
                              "every interleaving, depth first, with partial-order "
                              "reduction")
    explore.add_argument("--depth", type=_depth, default=3, metavar="D",
                         help="pct: the depth of the bugs to look for (default 3: "
                              "d-1 priority change points per run)")
    explore.add_argument("--preemption-bound", type=_bound, default=None, metavar="B",
                         help="dfs: only schedules with at most B preemptions (searched "
                              "without reduction)")
    explore.add_argument("--no-reduction", action="store_true",
                         help="dfs: run every schedule, not one per interleaving")
    explore.add_argument("--no-shrink", action="store_true",
                         help="do not shrink the failing schedules nor replay the shortest "
                              "ones")
    how_many = explore.add_mutually_exclusive_group()
    how_many.add_argument("--seeds", type=_seeds, default=None, metavar="N",
                          help="random, pct: how many seeds (default 100)")
    how_many.add_argument("--budget", type=_budget, default=None, metavar="N|Ts",
                          help="at most N schedules, or T seconds (30s); dfs stops there "
                               "and says it did not explore all")
    explore.add_argument("--jobs", "-j", type=_jobs, default=1, metavar="J",
                         help="processes to spread the seeds over (0: one per CPU)")
    explore.add_argument("--cluster", metavar="tcp://HOST:PORT", default=None,
                         help="spread the seeds over the Dask cluster whose scheduler is "
                              "there (needs the cluster extra: pip install "
                              "'ipcsim[cluster]')")
    explore.add_argument("--entry", default="scenario",
                         help="the function to run (default: scenario)")
    _limit_options(explore)
    _executor_option(explore)
    explore.add_argument("--no-progress", action="store_true",
                         help="no progress bar (it shows only on a terminal anyway)")

    serve = sub.add_parser(
        "serve", help="one simulated kernel for every process that imports the fakes",
        description="Serve one ipcsim kernel over a Unix socket to every OS process that "
                    "imports sysv_ipc or posix_ipc with IPCSIM_SERVER in its environment: "
                    "they meet there as on one machine. Without CMD it prints "
                    "IPCSIM_SERVER=PATH and serves until Ctrl-C or SIGTERM (exit status "
                    "0, the socket removed). With -- CMD it runs CMD with IPCSIM_SERVER "
                    "set against a fresh server, stops the server when CMD exits, and "
                    "exits with CMD's status.",
        epilog=EXAMPLES["serve"], formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--socket", metavar="PATH", type=_out,
                       help="the Unix socket to listen on (default: a new one in a private "
                            "temporary directory)")
    serve.add_argument("--seed", type=_int, default=None, metavar="N",
                       help="the served kernel's seed (default: a random one)")
    serve.add_argument("cmd", nargs=argparse.REMAINDER, metavar="-- CMD ARGS",
                       help="run CMD against a fresh server, then stop the server")
    return top


def main(argv: list[str] | None = None) -> int:
    """The console script's entry point; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
        if args.command is None:
            _parser().print_help()
            return 2
        return {"demo": _demo, "shell": _shell, "run": _run,
                "explore": _explore, "serve": _serve}[args.command](args)
    except BrokenPipeError:          # ipcsim ... | head
        sys.stderr.close()
        return 141
    except KeyboardInterrupt:        # Ctrl-C: a word, not a traceback
        print("ipcsim: interrupted", file=sys.stderr)
        return 130


def _demo(args: argparse.Namespace) -> int:
    from . import demo
    if args.source:
        import inspect
        sys.stdout.write(inspect.getsource(demo))
        return 0
    from .explore import catching_ctrl_c, ctrl_c_pressed
    with catching_ctrl_c():
        demo.main(args.seed)
    if ctrl_c_pressed():       # (a program of the demo took it as its own failure)
        raise KeyboardInterrupt
    return 0


def _executor_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--executor", choices=("greenlet", "threads"), default=None,
                   help="how programs run: greenlets on one thread (the default) or OS "
                        "threads; the same seed gives the same run on both")


def _shell(args: argparse.Namespace) -> int:
    from .shell import Shell
    out = sys.stdout.write
    def err(text: str) -> None:
        sys.stdout.flush()               # (what was printed before comes first)
        sys.stderr.write(text)
        sys.stderr.flush()

    # --echo: a transcript of the lines as if typed at the terminal (bash's messages for
    # an interactive shell: job numbers and notices, no line numbers)
    sh = Shell(seed=args.seed, out=out, err=err,
               interactive=(sys.stdin.isatty() or args.echo) and args.commands is None)
    try:
        if args.commands is not None:
            return sh.run_script(args.commands)
        if args.echo:
            for line in sys.stdin:
                line = line.rstrip("\n")
                out(f"{sh.prompt()}{line}\n")
                sys.stdout.flush()
                sh.run(line)
                if sh.ended:
                    break
            return sh.status
        return sh.interact()
    finally:
        sh.close()


def _run(args: argparse.Namespace) -> int:
    from .errors import DeadlockError
    from .explore import (Limits, _outcome, catching_ctrl_c, ctrl_c_pressed, describe_failure,
                          failure_traceback, load_scenario, unfinished)
    from .kernel.kernel import Kernel
    from .timeline import Timeline
    from .explore.schedule import Recorder, Replay, decode
    fn = load_scenario(args.file, args.entry)
    k = Kernel(seed=args.seed, trace=True, executor=args.executor)
    rec = None
    if args.schedule is not None:
        rec = Recorder(Replay(decode(args.schedule)))
        k.sched.set_control(rec)
    limits = Limits(args.max_steps, args.until)
    timeline = Timeline(k, title=args.title, pids=args.pids, x=args.x)
    status, verdict, where, at_limit = 0, "", "", False
    with catching_ctrl_c():
        try:
            value = fn(k)
            k.run(until=limits.until, max_steps=limits.max_steps)
            running = unfinished(k)
            if running:
                status, at_limit = 1, True
                verdict = f"did not finish by {limits.text()}: {running}"
            else:
                verdict = f"outcome: {_outcome(value)!r}"
        except DeadlockError as e:
            status = 1
            verdict = "deadlock: " + "; ".join(f"pid {pid} waits in {what}"
                                               for pid, what in e.blocked)
        except BaseException as e:     # a program's error, or Ctrl-C
            if isinstance(e, KeyboardInterrupt) and ctrl_c_pressed():
                status = 130
                verdict = f"interrupted (Ctrl-C) after {len(k.trace)} calls"
            else:
                status = 1
                verdict = f"failed: {describe_failure(e)}"
                where = failure_traceback(e) if args.traceback else ""
    if rec is not None:
        rec.finish()
        if rec.mismatch is not None:       # (a usage error, not a finding of the run)
            status, verdict = 2, f"the schedule does not fit: {rec.mismatch}"
    try:
        if not args.quiet:
            print(f"{args.file} ({args.entry}) with "
                  + (f"schedule {args.schedule}" + (f", seed {args.seed}" if args.seed else "")
                     if args.schedule is not None else f"seed {args.seed}") + ":")
            print(timeline.text(at_limit=at_limit))
        if where:
            print(where, end="")
        print(verdict)
        if args.svg or args.png:
            status = _draw_all(args, timeline) or status
    finally:
        k.close()
    return status


def _draw_all(args: argparse.Namespace, timeline: Timeline) -> int:
    """Draw the timeline into --svg and --png; a status if one could not be drawn (2: a
    --fold too small for this run)."""
    try:
        layout = timeline.layout(width=args.width, fold=args.fold)
    except ValueError as e:
        print(f"ipcsim run: error: argument --fold: {e}", file=sys.stderr)
        return 2
    from .timeline import draw_png
    status = 0
    drawers: tuple[tuple[str, Callable[[str], None]], ...] = (
        ("svg", lambda out: _write_text(out, layout.svg())),
        ("png", lambda out: draw_png(layout, out, dpi=args.dpi)))
    for option, draw in drawers:
        out = getattr(args, option)
        if out and not _draw(draw, out):
            status = 1
    return status


def _write_text(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _draw(draw: Callable[[str], None], path: str) -> bool:
    """Draw the timeline into ``path``; False (and a message) if that cannot be done."""
    try:
        draw(path)
    except ImportError as e:
        print(f"ipcsim: {e}", file=sys.stderr)
        return False
    except OSError as e:
        print(f"ipcsim: cannot write {path}: {e.strerror or e}", file=sys.stderr)
        return False
    except ValueError as e:          # a path with a NUL byte
        print(f"ipcsim: cannot write {path!r}: {e}", file=sys.stderr)
        return False
    return True


def _explore(args: argparse.Namespace) -> int:
    from .explore import explore
    if args.seeds is not None:
        seeds: Any = range(args.seed, args.seed + args.seeds)
    elif args.budget is None:
        seeds = range(args.seed, args.seed + 100)
    elif isinstance(args.budget, int):
        seeds = range(args.seed, args.seed + args.budget)
    else:
        seeds = itertools.count(args.seed)
    if args.strategy != "pct" and args.depth != 3:
        print("ipcsim explore: --depth is for --strategy pct", file=sys.stderr)
        return 2
    if args.strategy != "dfs" and (args.preemption_bound is not None or args.no_reduction):
        print("ipcsim explore: --preemption-bound and --no-reduction are for --strategy dfs",
              file=sys.stderr)
        return 2
    if args.strategy == "dfs" and args.jobs != 1:
        print("ipcsim explore: --jobs spreads seeds (random, pct); dfs runs in one process",
              file=sys.stderr)
        return 2
    if args.strategy == "dfs" and args.seeds is not None:
        print("ipcsim explore: --seeds is for random and pct (dfs runs every schedule; "
              "--budget caps it)", file=sys.stderr)
        return 2
    client: Any = None
    if args.cluster is not None:
        if args.strategy == "dfs":
            print("ipcsim explore: --cluster spreads seeds (random, pct); dfs runs in one "
                  "process", file=sys.stderr)
            return 2
        from .explore.cluster import connect
        try:
            client = connect(args.cluster)
        except (ImportError, OSError, ValueError) as e:
            print(f"ipcsim explore: --cluster {args.cluster}: {e}", file=sys.stderr)
            return 1
    try:
        report = explore(args.file, seeds if args.strategy != "dfs" else [args.seed],
                         entry=args.entry, strategy=args.strategy, depth=args.depth,
                         preemption_bound=args.preemption_bound,
                         reduction=not args.no_reduction,
                         budget=args.budget if args.strategy == "dfs" or
                         isinstance(args.budget, float) else None,
                         jobs=args.jobs, client=client,
                         progress=False if args.no_progress else None,
                         executor=args.executor, max_steps=args.max_steps, until=args.until,
                         shrink=not args.no_shrink)
    finally:
        if client is not None:
            client.close()
    print(report.text())
    if report.interrupted:
        return 130
    return 1 if report.findings() else 0


def _serve(args: argparse.Namespace) -> int:
    """``ipcsim serve``: ``python -m ipcsim.remote`` under this command's name."""
    from .remote import autoload
    from .remote.__main__ import main as serve
    command = list(args.cmd)
    if command[:1] == ["--"]:
        command = command[1:]
        if not command:
            print("ipcsim serve: -- needs a command to run (CMD ARGS...)", file=sys.stderr)
            return 2
    argv = [] if args.socket is None else ["--socket", args.socket]
    if args.seed is not None:
        argv += ["--seed", str(args.seed)]
    if args.socket is not None:
        from .remote.__main__ import _remove_stale
        _remove_stale(args.socket)
        problem = _cannot_listen(args.socket)
        if problem:
            print(f"ipcsim serve: cannot listen on {args.socket}: {problem}", file=sys.stderr)
            return 1
    if not command:
        if not autoload.pth_installed() and os.environ.get(autoload.SWITCH) != "0":
            print(f"ipcsim serve: this Python's site-packages has no {autoload.PTH} (an "
                  f"editable install or a source checkout): give the processes "
                  f"PYTHONPATH={autoload.STAND_INS} too", file=sys.stderr)
        return serve(argv, prog="ipcsim serve")
    return serve([*argv, "--", *command], prog="ipcsim serve")


def _cannot_listen(path: str) -> str | None:
    """Why the server could not listen on ``path`` (told by a trial bind there), or None:
    said here, in one line, rather than by the server's process."""
    import socket
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
    except OSError as e:
        return e.strerror or str(e)
    finally:
        sock.close()
    os.unlink(path)
    return None


if __name__ == "__main__":
    sys.exit(main())
