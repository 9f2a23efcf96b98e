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
from ipcsim import SIG_BLOCK, SIG_SETMASK, SIGHUP, SIGSEGV, SIGUSR1, SIGUSR2

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
    src, exe = tmp_path / "frames.c", tmp_path / "frames"
    src.write_text(C_PROGRAM)
    subprocess.run(["cc", "-o", str(exe), str(src)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    real = [tuple(map(int, line.split())) for line in out.splitlines()]
    assert real == simulated()
