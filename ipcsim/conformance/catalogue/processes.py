"""Processes: fork, exit and wait, signals and their default actions, credentials."""
from . import scenario

AREA = "processes"

SCENARIOS = [
    scenario(AREA, "exit-and-wait", """
b = a.fork()
c = a.fork()
b.exit(7)
a.wait(pid(b), 0)
a.wait(pid(c), WNOHANG)
c.exit(0)
a.wait(-1, 0)
a.wait(-1, 0)
a.wait(-1, WNOHANG)
"""),
    scenario(AREA, "wait-blocks-until-a-child-exits", """
b = a.fork()
c = b.fork()
a.wait(-1, 0)
c.exit(3)
b.exit(5)
b2 = a.fork()
a.wait(pid(b2), 0)
b2.exit(1)
"""),
    scenario(AREA, "wait-errors", """
a.wait(-1, 0)
a.wait(12345, 0)
b = a.fork()
a.wait(-1, 0x100)
c = b.fork()
a.wait(pid(c), 0)
"""),
    scenario(AREA, "default-actions", """
b = a.fork()
c = a.fork()
d = a.fork()
e = a.fork()
a.kill(pid(b), SIGTERM)
a.kill(pid(c), SIGUSR1)
a.kill(pid(d), SIGCHLD)
a.kill(pid(d), SIGURG)
a.kill(pid(d), SIGWINCH)
a.kill(pid(e), SIGKILL)
a.wait(pid(b), 0)
a.wait(pid(c), 0)
a.wait(pid(e), 0)
a.wait(pid(d), WNOHANG)
d.getpid()
"""),
    scenario(AREA, "core-dumping-signals", """
b = a.fork()
c = a.fork()
a.kill(pid(b), SIGQUIT)
a.kill(pid(c), SIGSEGV)
a.wait(pid(b), 0)
a.wait(pid(c), 0)
"""),
    scenario(AREA, "handled-signal-interrupts-pause", """
b = a.fork()
b.signal(SIGUSR1, "handler")
b.pause()
a.kill(pid(b), SIGUSR1)
b.signal(SIGUSR1, "ignore")
a.kill(pid(b), SIGUSR1)
b.signal(SIGUSR1, "default")
a.kill(pid(b), SIGUSR1)
a.wait(pid(b), 0)
"""),
    scenario(AREA, "handled-signal-interrupts-wait", """
b = a.fork()
c = b.fork()
b.signal(SIGUSR2, "handler")
b.wait(-1, 0)
a.kill(pid(b), SIGUSR2)
b.wait(-1, WNOHANG)
"""),
    scenario(AREA, "sigchld-handler-and-wait", """
b = a.fork()
b.signal(SIGCHLD, "handler")
c = b.fork()
b.wait(-1, 0)
c.exit(9)
"""),
    scenario(AREA, "ignored-sigchld-reaps-at-once", """
b = a.fork()
b.signal(SIGCHLD, "ignore")
c = b.fork()
c.exit(0)
b.wait(-1, WNOHANG)
b.wait(-1, 0)
"""),
    scenario(AREA, "kill-errors", """
b = a.fork()
a.kill(999999, SIGTERM)
a.kill(pid(b), 65)
a.kill(pid(b), -1)
a.kill(pid(b), 0)
c = a.fork()
c.setuid(65534)
c.kill(pid(b), SIGTERM)
c.kill(pid(b), 0)
c.kill(pid(c), 0)
b.getpid()
"""),
    scenario(AREA, "kill-process-group", """
b = a.fork()
b.setpgid(0, 0)
c = b.fork()
d = b.fork()
e = a.fork()
e.kill(-pid(b), SIGTERM)
a.wait(pid(b), 0)
e.kill(-pid(b), SIGTERM)
e.getpgid(0)
"""),
    scenario(AREA, "signal-errors", """
a.signal(SIGKILL, "handler")
a.signal(SIGSTOP, "ignore")
a.signal(0, "handler")
a.signal(65, "handler")
a.signal(SIGUSR1, "handler")
a.signal(SIGUSR1, "ignore")
a.signal(SIGUSR1, "default")
"""),
    scenario(AREA, "orphans-go-to-init", """
b = a.fork()
c = b.fork()
b.exit(0)
a.wait(pid(b), 0)
c.getppid()
"""),
    scenario(AREA, "setuid-drops-capabilities", """
b = a.fork()
b.setuid(1000)
b.getresuid()
b.capget()
b.setuid(0)
b.unshare(CLONE_NEWIPC)
c = a.fork()
c.seteuid(1000)
c.getresuid()
c.capget()
c.seteuid(0)
c.capget()
c.setresuid(1000, 1001, 1002)
c.getresuid()
c.setresuid(1002, -1, 1000)
c.getresuid()
c.setresuid(7, -1, -1)
"""),
    scenario(AREA, "setgid-rules", """
b = a.fork()
b.setgid(50)
b.getresgid()
b.setgroups([5, 6])
b.setuid(1000)
b.setgid(0)
b.setgid(50)
b.setgroups([1])
b.setresgid(50, 50, 50)
b.setresgid(7, -1, -1)
"""),
    scenario(AREA, "capabilities", """
b = a.fork()
b.drop_capability(CAP_SYS_ADMIN)
b.capget()
b.unshare(CLONE_NEWIPC)
b.drop_capability(CAP_KILL)
c = a.fork()
c.setuid(1000)
b.kill(pid(c), SIGTERM)
b.drop_capability(99)
"""),
    scenario(AREA, "descriptors", """
fd = a.open("/proc/self/ns/ipc")
m = a.open("/proc/sys/kernel/msgmax")
d = a.dup(m)
b = a.fork()
b.read(m, 100)
a.read(d, 100)
a.close(fd)
a.close(fd)
b.close(m)
a.read(m, 100)
a.umask(0o77)
a.umask(0o22)
"""),
]

SCENARIOS += [
    scenario(AREA, "a-child-inherits-handlers", """
a.signal(SIGUSR1, "handler")
b = a.fork()
a.kill(pid(b), SIGUSR1)
b.kill(pid(a), SIGUSR1)
b.getpid()
"""),
    scenario(AREA, "blocked-signals-wait", """
b = a.fork()
b.signal(SIGUSR1, "handler")
b.sigprocmask(SIG_BLOCK, [SIGUSR1, SIGTERM])
a.kill(pid(b), SIGUSR1)
a.kill(pid(b), SIGTERM)
b.sigpending_signals()
b.sigprocmask(SIG_UNBLOCK, [SIGUSR1])
b.sigpending_signals()
b.sigprocmask(SIG_SETMASK, [])
a.wait(pid(b), 0)
"""),
    scenario(AREA, "sigsuspend", """
b = a.fork()
b.signal(SIGUSR2, "handler")
b.sigprocmask(SIG_BLOCK, [SIGUSR1])
b.sigsuspend([SIGUSR1])
a.kill(pid(b), SIGUSR1)
a.kill(pid(b), SIGUSR2)
b.sigpending_signals()
b.sigprocmask(SIG_BLOCK, [])
"""),
    scenario(AREA, "sigprocmask-errors", """
a.sigprocmask(7, [SIGUSR1])
a.sigprocmask(SIG_SETMASK, [SIGKILL, SIGSTOP, SIGINT])
a.sigprocmask(SIG_BLOCK, [])
"""),
]

# Found by random scenarios: a process that kills itself is gone for everyone at once.
SCENARIOS += [
    scenario(AREA, "a-process-that-kills-itself", """
b = a.fork()
a.kill(pid(a), SIGUSR1)
b.kill(pid(a), SIGUSR1)
b.getppid()
"""),
]

# kill(-1) counts EPERM targets but does not report EPERM: with only such targets it is 0.
SCENARIOS += [
    scenario(AREA, "kill-minus-one-with-only-refusing-targets", """
b = a.fork()
c = a.fork()
c.setuid(1000)
c.kill(-1, SIGUSR1)
b.getpid()
a.getpid()
"""),
]

# SIGTSTP, SIGTTIN and SIGTTOU with their default action are discarded for a process in an
# orphaned process group (get_signal: is_current_pgrp_orphaned), SIGSTOP never is; a group
# whose member has its parent in another group of the session is not orphaned.
SCENARIOS += [
    scenario(AREA, "terminal-stop-signals-and-orphaned-process-groups", """
b = a.fork()
a.kill(pid(b), SIGTSTP)
b.getpid()
a.kill(pid(b), SIGTTIN)
b.getpid()
c = a.fork()
c.setpgid(0, 0)
a.kill(pid(c), SIGTSTP)
c.getpid()
a.kill(pid(c), SIGCONT)
a.kill(pid(b), SIGSTOP)
b.getpid()
a.kill(pid(b), SIGCONT)
"""),
]
