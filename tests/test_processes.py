"""Processes: fork/clone/exit/wait, signals, credentials."""
import errno
import os
import signal

import pytest

import ipcsim

# The scheduler decides these runs: each test runs once with each executor.
pytestmark = pytest.mark.usefixtures("both_executors")


def test_init_is_pid_1_root_with_every_capability(k):
    init = k.init
    assert (init.pid, init.ppid, init.uid, init.gid) == (1, 0, 0, 0)
    assert init.capabilities == ipcsim.CAP_FULL_SET
    assert init.ipc_ns is k.init_ipc_ns


def test_pids_are_allocated_in_order(k):
    assert [k.init.fork().pid for _ in range(4)] == [2, 3, 4, 5]


def test_pids_wrap_to_300_past_pid_max_and_skip_used_ones():
    k = ipcsim.Kernel(pid_max=310)
    procs = [k.init.fork() for _ in range(308)]
    assert procs[-1].pid == 309
    for pid in (302, 300, 5):
        k.process(pid).exit(0)
        k.init.wait(pid)
    assert [k.init.fork().pid for _ in range(2)] == [300, 302]
    with pytest.raises(OSError) as e:
        k.init.fork()
    assert e.value.errno == errno.EAGAIN


def test_fork_inherits_namespace_credentials_and_handlers(k):
    p = k.init.fork()
    p.signal(signal.SIGUSR1, signal.SIG_IGN)
    p.setuid(1000)
    c = p.fork()
    assert c.ppid == p.pid and c.ipc_ns is p.ipc_ns and c.uid == 1000
    c.kill(c.pid, signal.SIGUSR1)            # still ignored in the child
    assert c.alive


def test_child_is_a_zombie_until_waited(k):
    c = k.init.fork()
    c.exit(7)
    assert not c.alive and c.zombie and c.exit_status == 7
    assert k.process(c.pid) is c
    pid, status = k.init.wait()
    assert pid == c.pid and os.WEXITSTATUS(status) == 7
    assert k.process(c.pid) is None and not c.zombie


def test_wait_errors_and_wnohang(k):
    with pytest.raises(ChildProcessError):
        k.init.wait()
    c = k.init.fork()
    assert k.init.wait(c.pid, ipcsim.WNOHANG) == (0, 0)
    with pytest.raises(ChildProcessError):
        k.init.wait(c.pid + 100)
    with pytest.raises(OSError) as e:
        k.init.wait(-1, 0x100)
    assert e.value.errno == errno.EINVAL
    with pytest.raises(TypeError):
        k.init.wait("1")


def test_orphans_are_reparented_to_init_which_reaps_them(k):
    parent = k.init.fork()
    child = parent.fork()
    zombie = parent.fork()
    zombie.exit(0)
    parent.exit(0)
    assert child.ppid == 1
    assert k.process(zombie.pid) is None        # an orphaned zombie is reaped at once
    assert k.init.wait(parent.pid)[0] == parent.pid
    child.exit(2)
    assert k.process(child.pid) is None         # init reaps the orphans it adopted
    with pytest.raises(ChildProcessError):
        k.init.wait(child.pid)


def test_ignoring_sigchld_reaps_children_at_once(k):
    p = k.init.fork()
    p.signal(signal.SIGCHLD, signal.SIG_IGN)
    c = p.fork()
    c.exit(0)
    assert k.process(c.pid) is None
    with pytest.raises(ChildProcessError):
        p.wait()


def test_program_result_and_exit_status(k):
    def prog(p, x):
        return x * 2

    def quitter(p):
        p.exit(9)
        raise AssertionError("not reached")

    a = k.init.fork(target=prog, args=(21,))
    b = k.init.fork(target=quitter)
    k.run()
    assert (a.result, a.exit_status) == (42, 0)
    assert b.exit_status == 9


def test_init_cannot_exit(k):
    with pytest.raises(ipcsim.KernelPanic):
        k.init.exit(0)
    assert k.init.alive


def test_calls_on_an_exited_process_are_refused(k):
    p = k.init.fork()
    p.exit(0)
    with pytest.raises(ipcsim.ProcessGone):
        p.fork()


def test_exit_closes_descriptors_and_leaves_the_namespace(k):
    p = k.init.clone(ipcsim.CLONE_NEWIPC)
    ns = p.ipc_ns
    fd = p.open("/proc/self/ns/ipc")
    assert fd == 3 and ns.refs == 2
    p.exit(0)
    assert p.fds == [] and p.ipc_ns is None and not ns.alive


# --- signals -----------------------------------------------------------------------------
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL, signal.SIGUSR1,
                                 signal.SIGUSR2, signal.SIGINT, signal.SIGHUP])
def test_default_action_terminates(k, sig):
    p = k.init.fork()
    k.init.kill(p.pid, sig)
    assert not p.alive and p.exit_status == -sig
    assert k.init.wait(p.pid) == (p.pid, sig)


def test_core_dumping_signals_terminate_without_a_core(k):
    # RLIMIT_CORE is 0, as on a default Linux system: no core, so no core-dump bit
    p = k.init.fork()
    k.init.kill(p.pid, signal.SIGQUIT)
    _, status = k.init.wait(p.pid)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGQUIT
    assert not os.WCOREDUMP(status)


@pytest.mark.parametrize("sig", [signal.SIGCHLD, signal.SIGURG, signal.SIGWINCH])
def test_default_action_ignores(k, sig):
    p = k.init.fork()
    k.init.kill(p.pid, sig)
    assert p.alive


def test_kill_errors(k, nobody):
    with pytest.raises(ProcessLookupError):
        k.init.kill(999, signal.SIGTERM)
    with pytest.raises(OSError) as e:
        k.init.kill(nobody.pid, 65)
    assert e.value.errno == errno.EINVAL
    victim = k.init.fork()
    with pytest.raises(PermissionError):
        nobody.kill(victim.pid, signal.SIGTERM)
    with pytest.raises(PermissionError):
        nobody.kill(victim.pid, 0)
    k.init.kill(victim.pid, 0)                    # existence check only
    assert victim.alive
    with pytest.raises(TypeError):
        k.init.kill(victim.pid, "SIGTERM")


def test_kill_minus_one_skips_init_and_the_caller(k):
    a, b = k.init.fork(), k.init.fork()
    a.kill(-1, signal.SIGTERM)
    assert a.alive and not b.alive and k.init.alive


def test_kill_process_group(k):
    leader = k.init.fork()
    leader.setpgid(0, 0)
    members = [leader.fork() for _ in range(2)]
    bystander = k.init.fork()
    bystander.kill(-leader.pid, signal.SIGTERM)
    assert not leader.alive and not any(m.alive for m in members) and bystander.alive
    with pytest.raises(ProcessLookupError):
        bystander.kill(-12345, signal.SIGTERM)


def test_a_reaped_leaders_number_stays_taken_while_its_group_lives():
    """The group holds its leader's pid (Linux frees a struct pid only when no task uses it
    as its pid or its process group): the number is not given again until the group's
    last process is reaped or moves to another group."""
    k = ipcsim.Kernel(pid_max=310)
    while k._last_pid < 299:
        c = k.init.fork()
        c.exit(0)
        k.init.wait(c.pid)
    leader = k.init.fork()                           # 300 (numbers wrap to 300)
    leader.setpgid(0, 0)
    first, second = leader.fork(), leader.fork()     # 301, 302: in group 300
    leader.exit(0)
    k.init.wait(leader.pid)
    assert k.process(300) is None and first.getpgid(0) == 300
    with pytest.raises(ProcessLookupError):
        k.init.kill(300, 0)
    k.init.kill(-300, 0)                             # the group is still there
    assert [k.init.fork().pid for _ in range(7)] == list(range(303, 310))
    with pytest.raises(OSError) as e:
        k.init.fork()                                # 300 is taken: every number is
    assert e.value.errno == errno.EAGAIN
    first.setpgid(0, 0)                              # leaves; second is still in it
    with pytest.raises(OSError):
        k.init.fork()
    second.exit(0)                                   # an orphan: init reaps it at once
    with pytest.raises(ProcessLookupError):
        k.init.kill(-300, 0)
    assert k.init.fork().pid == 300


def test_sigkill_and_sigstop_cannot_be_caught(k):
    for sig in (signal.SIGKILL, signal.SIGSTOP):
        with pytest.raises(OSError) as e:
            k.init.signal(sig, lambda s: None)
        assert e.value.errno == errno.EINVAL


def test_signal_returns_the_previous_disposition(k):
    def h(s):
        pass

    p = k.init.fork()
    assert p.signal(signal.SIGUSR1, h) is signal.SIG_DFL
    assert p.signal(signal.SIGUSR1, signal.SIG_IGN) is h
    with pytest.raises(TypeError):
        p.signal(signal.SIGUSR1, 42)


def test_handler_runs_in_an_idle_process_at_once(k):
    got = []
    p = k.init.fork()
    p.signal(signal.SIGUSR1, got.append)
    k.init.kill(p.pid, signal.SIGUSR1)
    assert got == [signal.SIGUSR1] and p.alive


def test_handled_signal_makes_a_blocked_call_fail_with_eintr(k):
    got = []

    def sleeper(p):
        p.signal(signal.SIGUSR1, got.append)
        try:
            p.sleep(100)
        except InterruptedError:
            return ("EINTR", k.clock.now())

    p = k.init.fork(target=sleeper)
    k.run_until_idle()
    k.clock.advance(3)
    k.init.kill(p.pid, signal.SIGUSR1)
    k.run()
    assert p.result == ("EINTR", 3.0) and got == [signal.SIGUSR1]


def test_sigchld_handler_does_not_interrupt_the_wait_for_that_child(k):
    def parent(p):
        got = []
        p.signal(signal.SIGCHLD, got.append)
        child = p.fork(target=lambda c: c.exit(9))
        return p.wait(), got, child.pid

    p = k.init.fork(target=parent)
    k.run()
    (pid, status), got, child = p.result
    assert pid == child and os.WEXITSTATUS(status) == 9 and got == [signal.SIGCHLD]


def test_sigchld_handler_interrupts_the_parent(k):
    def parent(p):
        p.signal(signal.SIGCHLD, lambda s: None)
        p.fork(target=lambda c: c.sleep(1))
        try:
            p.sleep(10)
        except InterruptedError:
            return k.clock.now()

    p = k.init.fork(target=parent)
    k.run()
    assert p.result == 1.0


def test_kill_of_a_blocked_program(k):
    p = k.init.fork(target=lambda p: p.sleep(100))
    k.run_until_idle()
    k.init.kill(p.pid, signal.SIGKILL)
    k.run()
    assert p.exit_status == -signal.SIGKILL and k.clock.now() == 0


def test_init_ignores_signals_it_does_not_handle(k):
    child = k.init.fork()
    child.kill(1, signal.SIGKILL)
    assert k.init.alive


def test_sigstop_and_sigcont(k):
    ticks = []

    def ticker(p):
        for _ in range(4):
            p.sleep(1)
            ticks.append(k.clock.now())

    p = k.init.fork(target=ticker)
    k.clock.advance(1.5)
    k.init.kill(p.pid, signal.SIGSTOP)
    k.clock.advance(5)
    assert ticks == [1.0]
    with pytest.raises(ipcsim.DeadlockError) as e:
        k.run()
    assert "stopped" in str(e.value)
    k.init.kill(p.pid, signal.SIGCONT)
    k.run()
    assert ticks == [1.0, 6.5, 7.5, 8.5]


# --- credentials -------------------------------------------------------------------------
def test_root_dropping_to_a_user_loses_its_capabilities(k):
    p = k.init.fork()
    p.setuid(1000)
    assert p.getresuid() == (1000, 1000, 1000)
    assert p.capabilities == 0
    with pytest.raises(PermissionError):
        p.setuid(0)


def test_seteuid_keeps_the_saved_uid_and_restores_capabilities(k):
    p = k.init.fork()
    p.seteuid(1000)
    assert p.getresuid() == (0, 1000, 0) and p.capabilities == 0
    p.seteuid(0)
    assert p.capabilities == ipcsim.CAP_FULL_SET


def test_setgid_rules(k):
    p = k.init.fork()
    p.setgid(50)
    assert p.getresgid() == (50, 50, 50)
    p.setuid(1000)
    with pytest.raises(PermissionError):
        p.setgid(0)
    p.setgid(50)
    with pytest.raises(PermissionError):
        p.setgroups([1])


def test_unprivileged_setresuid(k):
    p = k.init.fork()
    p.setresuid(1000, 1001, 1002)
    p.setresuid(1002, -1, 1000)
    assert p.getresuid() == (1002, 1001, 1000)
    with pytest.raises(PermissionError):
        p.setresuid(7, -1, -1)
    with pytest.raises(TypeError):
        p.setuid("0")


def test_drop_capability(k):
    p = k.init.fork()
    p.drop_capability(ipcsim.CAP_SYS_ADMIN)
    assert not p.has_capability(ipcsim.CAP_SYS_ADMIN)
    assert p.has_capability(ipcsim.CAP_IPC_OWNER)
    with pytest.raises(PermissionError):
        p.capset(ipcsim.CAP_FULL_SET, ipcsim.CAP_FULL_SET)
    with pytest.raises(OSError) as e:
        p.drop_capability(99)
    assert e.value.errno == errno.EINVAL


def test_kernel_capabilities_configure_init():
    mask = ipcsim.CAP_FULL_SET & ~(1 << ipcsim.CAP_SYS_RESOURCE)
    k = ipcsim.Kernel(capabilities=mask)
    assert k.init.capabilities == mask
    assert not k.init.fork().has_capability(ipcsim.CAP_SYS_RESOURCE)


def test_descriptors_are_lowest_free_and_shared_across_fork(k):
    p = k.init.fork()
    a = p.open("/proc/self/ns/ipc")
    b = p.open("/proc/sys/kernel/msgmax")
    p.close(a)
    c = p.open("/proc/sys/kernel/msgmni")
    assert (a, b, c) == (3, 4, 3)
    child = p.fork()
    assert child.read(b, 100) == b"8192\n"
    assert p.read(b, 100) == b""                   # the offset is shared
    with pytest.raises(OSError) as e:
        p.close(99)
    assert e.value.errno == errno.EBADF


def test_exit_closes_descriptors_with_holes(k):
    p = k.init.fork()
    fds = [p.open("/proc/sys/kernel/msgmax") for _ in range(4)]
    p.close(fds[1])
    p.close(fds[3])
    p.exit(0)
    assert p.fds == []


def test_wait_any_reaps_children_in_the_order_they_were_forked(k):
    # do_wait walks the list of children: the oldest ended child comes first, whatever
    # the order in which they ended.
    kids = [k.init.fork() for _ in range(3)]
    for c in reversed(kids):
        c.exit(0)
    assert [k.init.wait()[0] for _ in kids] == [c.pid for c in kids]


def test_reaping_many_children_does_not_scan(k):
    kids = [k.init.fork() for _ in range(5000)]
    for c in kids:
        c.exit(0)
    assert [k.init.wait()[0] for _ in kids] == [c.pid for c in kids]
    assert k.init.zombies is not None and len(k.init.zombies) == 0


def test_blocked_signals_wait_until_unblocked(k):
    got = []
    p = k.init.fork()
    p.signal(signal.SIGUSR1, got.append)
    assert p.sigprocmask(ipcsim.SIG_BLOCK, [signal.SIGUSR1, signal.SIGTERM]) == set()
    k.init.kill(p.pid, signal.SIGUSR1)
    k.init.kill(p.pid, signal.SIGUSR1)             # standard signals do not queue twice
    k.init.kill(p.pid, signal.SIGTERM)             # even a fatal one waits while blocked
    assert got == [] and p.alive
    assert p.sigpending_signals() == {signal.SIGUSR1, signal.SIGTERM}
    assert p.sigprocmask(ipcsim.SIG_UNBLOCK, [signal.SIGUSR1]) == {signal.SIGUSR1,
                                                                    signal.SIGTERM}
    assert got == [signal.SIGUSR1] and p.alive
    p.sigprocmask(ipcsim.SIG_SETMASK, [])
    assert not p.alive and p.exit_status == -signal.SIGTERM


def test_sigkill_and_sigstop_cannot_be_blocked(k):
    p = k.init.fork()
    p.sigprocmask(ipcsim.SIG_SETMASK, [signal.SIGKILL, signal.SIGSTOP, signal.SIGINT])
    assert p.sigprocmask(ipcsim.SIG_BLOCK, None) == {signal.SIGINT}
    with pytest.raises(OSError) as e:
        p.sigprocmask(7, [])
    assert e.value.errno == errno.EINVAL
    k.init.kill(p.pid, signal.SIGKILL)
    assert not p.alive


def test_a_blocked_signal_does_not_interrupt_a_call(k):
    def sleeper(p):
        p.signal(signal.SIGUSR1, lambda s: None)
        p.sigprocmask(ipcsim.SIG_BLOCK, [signal.SIGUSR1])
        p.sleep(10)
        return k.clock.now()

    p = k.init.fork(target=sleeper)
    k.run_until_idle()
    k.init.kill(p.pid, signal.SIGUSR1)
    k.run()
    assert p.result == 10.0


def test_sigsuspend_waits_without_losing_a_signal(k):
    got = []

    def waiter(p):
        p.signal(signal.SIGUSR1, got.append)
        p.sigprocmask(ipcsim.SIG_BLOCK, [signal.SIGUSR1])
        p.sleep(5)                                   # the signal arrives meanwhile
        try:
            p.sigsuspend([])
        except InterruptedError:
            return p.sigprocmask(ipcsim.SIG_BLOCK, None)

    p = k.init.fork(target=waiter)
    k.run_until_idle()
    k.init.kill(p.pid, signal.SIGUSR1)
    k.run()
    assert got == [signal.SIGUSR1] and p.result == {signal.SIGUSR1}


def test_sigsuspend_blocks_until_a_handled_signal(k):
    def waiter(p):
        p.signal(signal.SIGUSR2, lambda s: None)
        p.sigprocmask(ipcsim.SIG_BLOCK, [signal.SIGUSR1])
        try:
            p.sigsuspend([signal.SIGUSR1])
        except InterruptedError:
            return k.clock.now(), p.sigpending_signals()

    p = k.init.fork(target=waiter)
    k.clock.advance(4)
    k.init.kill(p.pid, signal.SIGUSR1)              # blocked during sigsuspend: no wake
    k.run_until_idle()
    assert p.alive
    k.init.kill(p.pid, signal.SIGUSR2)
    k.run()
    assert p.result == (4.0, {signal.SIGUSR1})     # still pending, still blocked
