"""Several signals delivered at once: Linux dequeues the synchronous ones first, then the
lowest number, and sets up one handler frame for each; the frames stack, so the handlers run
last set up first, each with its own signal blocked. Compared with a small C program where
a C compiler is available (Python's own handlers would run in number order, whatever the
kernel does)."""
import shutil
import subprocess
import sys

import pytest

import ipcsim
from ipcsim import SIG_BLOCK, SIG_SETMASK, SIGCONT, SIGHUP, SIGSEGV, SIGTSTP, SIGUSR1, SIGUSR2

SENT = (SIGUSR2, SIGHUP, SIGUSR1, SIGSEGV)

C_PROGRAM = r"""
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static int order[16], masked[16], n;
static void h(int s) {
    sigset_t now;
    sigprocmask(SIG_BLOCK, 0, &now);
    masked[n] = sigismember(&now, s);
    order[n++] = s;
}
int main(void) {
    int sigs[] = {SIGUSR2, SIGHUP, SIGUSR1, SIGSEGV};
    struct sigaction sa;
    sigset_t all, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sigemptyset(&all);
    for (int i = 0; i < 4; i++) { sigaction(sigs[i], &sa, 0); sigaddset(&all, sigs[i]); }
    sigprocmask(SIG_BLOCK, &all, &old);
    for (int i = 0; i < 4; i++) kill(getpid(), sigs[i]);
    sigprocmask(SIG_SETMASK, &old, 0);
    for (int i = 0; i < n; i++) printf("%d %d\n", order[i], masked[i]);
    return 0;
}
"""


def simulated() -> list[tuple[int, int]]:
    k = ipcsim.Kernel()
    seen = []

    def program(p):
        def handler(sig):
            seen.append((sig, int(sig in p.sigprocmask(SIG_BLOCK, None))))
        for sig in SENT:
            p.signal(sig, handler)
        old = p.sigprocmask(SIG_BLOCK, list(SENT))
        for sig in SENT:
            p.kill(p.pid, sig)
        p.sigprocmask(SIG_SETMASK, old)
        return p.sigprocmask(SIG_BLOCK, None)

    w = k.init.fork(target=program)
    k.run()
    assert w.result == set()                  # every frame's mask was restored
    return seen


def test_handlers_run_last_set_up_first_with_their_signal_blocked():
    assert simulated() == [(SIGUSR2, 1), (SIGUSR1, 1), (SIGHUP, 1), (SIGSEGV, 1)]


@pytest.mark.skipif(sys.platform != "linux" or not shutil.which("cc"),
                    reason="needs Linux and a C compiler (cc)")
def test_the_real_kernel_agrees(tmp_path):
    assert run_c(tmp_path, C_PROGRAM) == simulated()


def run_c(tmp_path, source: str) -> list[tuple[int, ...]]:
    """Compile and run a C program; its output lines as tuples of ints."""
    src, exe = tmp_path / "probe.c", tmp_path / "probe"
    src.write_text(source)
    subprocess.run(["cc", "-o", str(exe), str(src)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    return [tuple(map(int, line.split())) for line in out.splitlines()]


C_QUEUED = r"""
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
static int sigs[16], mine[16], n;
static void h(int s, siginfo_t *si, void *ctx) {
    (void)ctx;
    sigs[n] = s;
    mine[n++] = si->si_pid == getpid();
}
int main(void) {
    int rt = SIGRTMIN;
    struct sigaction sa;
    sigset_t both, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_SIGINFO;
    sigaction(rt, &sa, 0);
    sigaction(SIGUSR1, &sa, 0);
    sigemptyset(&both);
    sigaddset(&both, rt);
    sigaddset(&both, SIGUSR1);
    sigprocmask(SIG_BLOCK, &both, &old);
    kill(getpid(), rt);
    kill(getpid(), rt);
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);
    pid_t child = fork();
    if (child == 0) { kill(getppid(), rt); _exit(0); }
    waitpid(child, 0, 0);
    sigprocmask(SIG_SETMASK, &old, 0);
    for (int i = 0; i < n; i++) printf("%d %d\n", sigs[i], mine[i]);
    return 0;
}
"""
RT = 34            # glibc's SIGRTMIN


def simulated_queued() -> list[tuple[int, int]]:
    k = ipcsim.Kernel()
    seen = []

    def program(p):
        def handler(sig):
            seen.append((sig, int(p.last_siginfo.si_pid == p.pid)))
        p.signal(RT, handler)
        p.signal(SIGUSR1, handler)
        p.sigprocmask(SIG_BLOCK, [RT, SIGUSR1])
        for sig in (RT, RT, SIGUSR1, SIGUSR1):
            p.kill(p.pid, sig)
        child = p.fork()
        child.kill(p.pid, RT)
        child.exit(0)
        p.wait(child.pid)
        p.sigprocmask(SIG_SETMASK, [])

    k.init.fork(target=program)
    k.run()
    return seen


def test_real_time_signals_queue_each_instance_with_its_siginfo():
    """Two instances of a standard signal are one; every instance of a real-time signal is
    delivered, each with its own siginfo, one after the other (the frame's mask holds the
    next back until the handler returns), before the older frame of SIGUSR1 runs."""
    assert simulated_queued() == [(RT, 1), (RT, 1), (RT, 0), (SIGUSR1, 1)]


@pytest.mark.skipif(sys.platform != "linux" or not shutil.which("cc"),
                    reason="needs Linux and a C compiler (cc)")
def test_the_real_kernel_queues_the_same(tmp_path):
    assert run_c(tmp_path, C_QUEUED) == simulated_queued()


C_FLUSH = r"""
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
static void show(void) {
    sigset_t p;
    sigpending(&p);
    printf("%d %d\n", sigismember(&p, SIGTSTP), sigismember(&p, SIGCONT));
}
int main(void) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTSTP);
    sigaddset(&s, SIGCONT);
    sigprocmask(SIG_BLOCK, &s, 0);
    kill(getpid(), SIGTSTP); show();
    kill(getpid(), SIGCONT); show();
    kill(getpid(), SIGTSTP); show();
    return 0;
}
"""


def simulated_flush() -> list[tuple[int, int]]:
    k = ipcsim.Kernel()
    p = k.init.fork()
    p.sigprocmask(SIG_BLOCK, [SIGTSTP, SIGCONT])
    out = []
    for sig in (SIGTSTP, SIGCONT, SIGTSTP):
        p.kill(p.pid, sig)
        pending = p.sigpending_signals()
        out.append((int(SIGTSTP in pending), int(SIGCONT in pending)))
    return out


def test_sigcont_and_stop_signals_discard_each_other_while_pending():
    assert simulated_flush() == [(1, 0), (0, 1), (1, 0)]


@pytest.mark.skipif(sys.platform != "linux" or not shutil.which("cc"),
                    reason="needs Linux and a C compiler (cc)")
def test_the_real_kernel_discards_the_same(tmp_path):
    assert run_c(tmp_path, C_FLUSH) == simulated_flush()
