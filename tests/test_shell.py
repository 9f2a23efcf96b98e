"""The simulated shell on its own: processes, namespaces, parsing and every tool's errors."""
import re

import pytest

import ipcsim
from ipcsim.shell import Shell, tokenize
from ipcsim.shell.common import c_strtol, parse_size, parse_size_err, size_to_human
from ipcsim.shell.getopt import GetoptError, LongOpt, getopt_long


def shell(seed=0, kernel=None):
    out, err = [], []
    sh = Shell(kernel=kernel, seed=seed, out=out.append, err=err.append)

    def run(line):
        del out[:], err[:]
        status = sh.run(line)
        return status, "".join(out), "".join(err)
    return sh, run


# --- getopt_long, as glibc ---------------------------------------------------------------
def test_getopt_bundles_attached_arguments_and_permutes():
    opts, operands = getopt_long(["-qS3", "x", "-p", "600", "y"], "qS:p:")
    assert opts == [("q", None), ("S", "3"), ("p", "600")]
    assert operands == ["x", "y"]


def test_getopt_long_prefixes_optional_arguments_and_messages():
    longs = (LongOpt("all", 2, "a"), LongOpt("queue", 1, "q"), LongOpt("quiet", 0, "Q"))
    assert getopt_long(["--all=msg", "--al"], "a::", longs)[0] == [("a", "msg"), ("a", None)]
    with pytest.raises(GetoptError, match="option '--qu' is ambiguous; possibilities: "
                                          "'--queue' '--quiet'"):
        getopt_long(["--qu"], "", longs)
    with pytest.raises(GetoptError, match="unrecognized option '--nope'"):
        getopt_long(["--nope"], "", longs)
    with pytest.raises(GetoptError, match="option '--queue' requires an argument"):
        getopt_long(["--queue"], "", longs)
    with pytest.raises(GetoptError, match="option '--quiet' doesn't allow an argument"):
        getopt_long(["--quiet=1"], "", longs)
    with pytest.raises(GetoptError, match="invalid option -- 'z'"):
        getopt_long(["-z"], "a")


def test_getopt_plus_stops_at_the_first_operand():
    assert getopt_long(["-i", "ipcs", "-q"], "+i") == ([("i", None)], ["ipcs", "-q"])


def test_sizes_as_util_linux_reads_and_prints_them():
    assert parse_size("1K") == 1024 and parse_size("1KB") == 1000 and parse_size("2MiB") == 2 << 20
    assert parse_size("1.5K") == 1536 and parse_size("-5") is None and parse_size("x") is None
    assert [size_to_human(n) for n in (0, 5000, 8192, 2 ** 64 - 2 ** 24 - 1)] == \
        ["0B", "4.9K", "8K", "16E"]


def test_sizes_parse_as_strtosize_does_c_bases_fractions_and_overflow():
    # strtoumax's base 0, the fraction added digit by digit (1.25K is 1279, not 1280)
    assert [parse_size_err(t) for t in ("0x10", "010", " 5", "+5", "1.25K", "1.05K", "1.K")] \
        == [(16, 0), (8, 0), (5, 0), (5, 0), (1279, 0), (1075, 0), (1024, 0)]
    assert [parse_size_err(t)[1] for t in ("", "1.5", "5x", "1 K", "-5")] == [22] * 5
    assert parse_size_err("99999999999999999999999")[1] == 34      # ERANGE
    assert parse_size_err("16E")[1] == 34 and parse_size_err("15E") == (15 << 60, 0)


def test_c_strtol_reads_no_digits_from_an_empty_word_or_other_scripts():
    assert c_strtol("", 10) == (None, "") and c_strtol("-", 10) == (None, "-")
    assert c_strtol("\u0663", 10) == (None, "\u0663")       # an Arabic-Indic three


# --- the language ------------------------------------------------------------------------
def test_tokenizer_quotes_variables_and_operators():
    toks = tokenize("echo 'a b' \"$X-$$\" \\; x>f 2>&1 && y # c", {"X": "1", "$": "7"}.get)
    assert toks == ["echo", "a b", "1-7", ";", "x", (">",), "f", ("2>&1",), ("&&",), "y"]
    with pytest.raises(ValueError):
        tokenize("echo 'open", str)


def test_lists_status_and_variables():
    sh, run = shell()
    assert run("false && echo no || echo yes; echo $?") == (0, "yes\n0\n", "")
    assert run("N=3; echo $N ${N}") == (0, "3 3\n", "")
    assert run("echo $$")[1] == f"{sh.proc.pid}\n"


def test_unknown_commands_pipes_and_syntax_errors():
    sh, run = shell()
    assert run("nosuch") == (127, "", "bash: line 1: nosuch: command not found\n")
    status, out, err = run("ipcs -q | cat")
    assert status == 0 and out.startswith("\n------ Message Queues --------\n") and not err
    assert run("; ls")[0] == 2


def test_each_command_is_a_child_process_and_builtins_are_not():
    sh, run = shell()
    assert sh.proc.pid == 2
    run("ipcmk -M 10")
    run("ipcmk -M 10")
    status, out, _ = run("ipcs -m -p")
    assert "0          root       3          0" in out
    assert "1          root       4          0" in out
    assert [p.pid for p in sh.kernel.processes()] == [1, 2]


# --- namespaces -------------------------------------------------------------------------
def test_unshare_nsenter_and_exit_move_between_namespaces():
    sh, run = shell()
    run("ipcmk -Q")
    outer = sh.proc
    run("unshare --ipc")
    inner = sh.proc
    assert inner.parent is outer and inner.ipc_ns is not outer.ipc_ns
    inner_ns = inner.ipc_ns
    assert "------ Message Queues --------" in run("ipcs -q")[1]
    assert run("ipcs -q")[1].count("root") == 0
    run("ipcmk -S 2")
    status, out, _ = run("lsns -t ipc")
    # the outer shell, its parent, has no line of its own: no branch, as lsns 2.38.1 draws it
    assert out.splitlines()[-1].endswith(f"{inner.pid} root -bash")
    run("exit")
    assert sh.proc is outer and not inner_ns.alive
    assert "0          root       644" in run("ipcs -q")[1]


def test_nsenter_joins_another_shell_namespace():
    sh, run = shell()
    run("unshare --ipc")
    inner = sh.proc
    run("ipcmk -S 3")
    status, out, err = run(f"nsenter --ipc -t {inner.pid} ipcs -s")
    assert "644        3" in out
    assert run("nsenter --ipc -t 99999 true") == (
        1, "", "nsenter: cannot open /proc/99999/ns/ipc: No such file or directory\n")
    assert run("nsenter -t abc --ipc")[2] == "nsenter: failed to parse pid: 'abc'\n"
    assert run("unshare --net")[0] == 1
    assert run("unshare --ipc nosuch") == (
        127, "", "unshare: failed to execute nosuch: No such file or directory\n")


def test_unshare_ipc_file_keeps_the_namespace_after_its_last_process():
    sh, run = shell()
    status, out, err = run("unshare --ipc=/run/ipc1 true")
    assert (status, out) == (1, "")
    assert re.fullmatch(r"unshare: mount /proc/\d+/ns/ipc on /run/ipc1 failed: No such file "
                        r"or directory\n", err)
    assert run("touch /run/ipc1")[0] == 0         # the bind mount needs a file to cover
    assert run("unshare --ipc=/run/ipc1 ipcmk -Q")[0] == 0
    assert run("nsenter --ipc=/run/ipc1 ipcs -q")[1].count("root       644") == 1
    assert len(sh.kernel.ipc_namespaces) == 2
    run("umount /run/ipc1")
    assert len(sh.kernel.ipc_namespaces) == 1


def test_exit_at_the_top_ends_the_session():
    sh, run = shell()
    assert run("exit 4")[0] == 4 and sh.ended
    assert sh.run_script("echo never") == 4


def test_killing_a_shell_level_returns_to_its_parent():
    sh, run = shell()
    run("unshare --ipc")
    inner = sh.proc.pid
    status, _, _ = run(f"kill -9 {inner}")
    assert sh.proc.pid == 2 and sh.status == 137


def test_unprivileged_shell_cannot_unshare():
    k = ipcsim.Kernel(seed=0)
    sh, run = shell(kernel=k)
    sh.proc.setuid(1000)
    assert run("unshare --ipc") == (1, "", "unshare: unshare failed: Operation not permitted\n")
    status, out, err = run("ipcmk -Q -p 600")
    assert "Message queue id: 0" in out
    assert run("ipcs -q")[1].splitlines()[-2].split()[2] == "1000"


# --- the smaller tools ----------------------------------------------------------------------
def test_files_sysctl_and_redirections():
    sh, run = shell()
    assert run("echo 64 > /proc/sys/kernel/msgmni; cat /proc/sys/kernel/msgmni")[1] == "64\n"
    assert run("echo x > /proc/sys/kernel/msgmni")[2] == \
        "bash: line 2: echo: write error: Invalid argument\n"
    assert run("echo x > /nodir/f")[2] == \
        "bash: line 3: /nodir/f: No such file or directory\n"
    assert run("cat < /proc/sys/kernel/msgmax")[1] == "8192\n"
    assert run("cat /nope 2>/dev/null; echo $?")[1] == "1\n"
    assert run("sysctl kernel.msgmni kernel.sem")[1] == \
        "kernel.msgmni = 64\nkernel.sem = 32000\t1024000000\t500\t32000\n"
    assert run("sysctl -n -w kernel.msgmax=100")[1] == "100\n"
    assert run("ls /proc/sysvipc")[1] == "msg\nsem\nshm\n"
    assert run("ls /nope") == (2, "", "ls: cannot access '/nope': No such file or directory\n")


def test_redirections_create_truncate_and_append_as_bash():
    sh, run = shell()
    # bash opens `>` with O_WRONLY|O_CREAT|O_TRUNC, 0666 less the umask; `>>` with O_APPEND
    assert run("cd /run; echo x > f; cat f") == (0, "x\n", "")
    assert sh.proc.stat("/run/f").st_mode & 0o777 == 0o644
    assert run("echo abcdef > f; echo a > f; cat f")[1] == "a\n"
    assert run("echo b >> f; echo c >> f; cat f")[1] == "a\nb\nc\n"
    assert run("ls /nope 2> e; ls /nope 2>> e; cat e")[1] == \
        "ls: cannot access '/nope': No such file or directory\n" * 2
    assert run("echo y > /")[2] == "bash: line 5: /: Is a directory\n"


def test_mount_umount_and_mqueue_files():
    sh, run = shell()
    assert run("mount -t mqueue none /dev/mqueue")[0] == 0
    assert run("mount")[1] == "none on /dev/mqueue type mqueue (rw,relatime)\n"
    run("mq open /jobs")
    assert run("ls /dev/mqueue")[1] == "jobs\n"
    assert run("cat /dev/mqueue/jobs")[1].startswith("QSIZE:0 ")
    assert run("umount /dev/mqueue")[0] == 0
    assert run("umount /dev/mqueue") == (32, "", "umount: /dev/mqueue: not mounted.\n")
    assert run("mount -t ext4 none /x")[0] == 32


def test_mq_tool_priorities_and_errors():
    sh, run = shell()
    assert run("mq open /q -m 2 -s 32")[0] == 0
    run("mq send /q low 1")
    run("mq send /q high 7")
    # a send to a full queue waits; nothing else runs, so the shell reports the deadlock
    # and keeps the sender as a job, which the next receive lets go on
    status, out, err = run("mq send /q more")
    assert status == 1 and out == ""
    lines = err.splitlines()
    assert lines[0] == "ipcsim: deadlock: every program is blocked and no timer can wake any:"
    assert lines[1].startswith("  pid 6 (mq): mq_send") and lines[1].endswith("(queue full)")
    assert lines[2:] == ["[1]+  Running                 mq send /q more &"]
    assert run("mq attr /q")[1] == "flags=0 maxmsg=2 msgsize=32 curmsgs=2\n"
    assert run("mq receive /q")[1] == "high\t(priority 7)\n"
    assert run("jobs") == (0, "[1]+  Done                    mq send /q more\n", "")
    assert run("mq receive /q")[1] == "low\t(priority 1)\n"
    assert run("mq receive /q")[1] == "more\t(priority 0)\n"
    assert run("mq receive /q -n") == (1, "", "mq: receive /q: Resource temporarily "
                                             "unavailable\n")
    assert run("mq ls")[1] == "/q\n"
    assert run("mq unlink /q")[0] == 0
    assert run("mq unlink /q")[2] == "mq: unlink /q: No such file or directory\n"


def test_ps_and_kill():
    sh, run = shell()
    out = run("ps")[1].splitlines()
    assert out[0] == "  PID  PPID      IPCNS USER     COMMAND"
    assert out[-1] == "    3     2 4026531839 root     ps"
    assert run("kill 999") == (1, "", "bash: line 2: kill: (999) - No such process\n")
    assert run("kill -FOO 1")[2] == "bash: line 3: kill: FOO: invalid signal specification\n"
    assert run("kill")[0] == 2
    assert "10) SIGUSR1" in run("kill -l")[1]


def test_same_seed_same_transcript():
    script = "ipcmk -Q -S 2 -M 100\nunshare --ipc\nipcmk -Q\nlsns -t ipc\nexit\nipcs\n"
    outs = []
    for _ in range(2):
        out = []
        Shell(seed=9, out=out.append, err=out.append).run_script(script)
        outs.append("".join(out))
    assert outs[0] == outs[1]
    other = []
    Shell(seed=10, out=other.append, err=other.append).run_script(script)
    assert "".join(other) != outs[0]           # ipcmk's keys come from the seed


def test_lsns_options():
    sh, run = shell()
    run("unshare --ipc")
    status, out, _ = run("lsns -t ipc -l -o NS,NPROCS,PID,PPID,UID,PATH")
    assert out.splitlines()[0] == "        NS NPROCS PID PPID UID PATH"
    assert run("lsns -t ipc -n -r")[1].splitlines()[0] == "4026531839 ipc 2 1 root init"
    assert run("lsns -t foo") == (1, "", "lsns: unknown namespace type: foo\n")
    assert run("lsns -o FOO")[2] == "lsns: unknown column: FOO\n"
    assert run("lsns -p abc")[2] == "lsns: invalid PID argument: 'abc'\n"
    assert '"ns": 4026531839' in run("lsns -t ipc -J")[1]
    assert "NETNSID" in run("lsns --help")[1]


def test_help_lists_every_command():
    sh, run = shell()
    out = run("help")[1]
    for name in ("ipcs", "ipcmk", "ipcrm", "lsns", "unshare", "nsenter", "mq", "sysctl"):
        assert f"  {name}" in out


def test_setpriv_runs_a_command_as_another_user():
    sh, run = shell()
    run("ipcmk -Q -p 600")
    assert run("setpriv --reuid=nobody --regid=nogroup --clear-groups ipcrm -q 0") == (
        1, "", "ipcrm: permission denied for id (0)\n")
    assert run("setpriv --reuid=65534 --clear-groups ipcmk -Q")[1] == "Message queue id: 1\n"
    assert "nobody" in run("ipcs -q")[1]
    assert run("setpriv --regid=1 true")[2] == (
        "setpriv: --[re]gid requires --keep-groups, --clear-groups, --init-groups, or "
        "--groups\n")
    assert run("setpriv --reuid=65534 unshare --ipc") == (
        1, "", "unshare: unshare failed: Operation not permitted\n")
    assert run("setpriv")[2] == "setpriv: No program specified\n"
    assert run("setpriv --dump")[0] == 1


def test_mount_lists_sources_and_namespace_files():
    sh, run = shell()
    run("mount -t mqueue mqueue /dev/mqueue")
    run("touch /run/ns")
    run("mount --bind /proc/$$/ns/ipc /run/ns")
    assert run("mount")[1] == ("mqueue on /dev/mqueue type mqueue (rw,relatime)\n"
                               "nsfs on /run/ns type nsfs (rw)\n")
    assert run("mount -t nsfs")[1] == "nsfs on /run/ns type nsfs (rw)\n"
    assert run("mount --bind /proc/sys/kernel/msgmax /x")[0] == 32


def test_lsns_of_one_namespace_is_a_process_tree():
    sh, run = shell()
    run("unshare --ipc")
    inner = sh.proc.pid
    status, out, _ = run(f"lsns {sh.proc.ipc_ns.inum}")
    assert out.splitlines() == ["PID PPID USER COMMAND", f"  {inner}    2 root -bash",
                                f"  {inner + 1}    {inner} root └─lsns {sh.proc.ipc_ns.inum}"]
    assert "└─" not in run(f"lsns -l {sh.proc.ipc_ns.inum}")[1]


def test_sysv_tool_sends_receives_and_holds_an_attachment_until_its_shell_exits():
    sh, run = shell()
    run("ipcmk -Q"), run("ipcmk -M 4096")
    assert run("sysv send 0 hi 3") == (0, "", "")
    assert run("sysv receive 0") == (0, "hi\t(type 3)\n", "")
    assert run("sysv receive 0") == (1, "", "sysv: receive 0: No message of desired type\n")
    run("unshare --ipc")
    assert run("nsenter --ipc -t 2 sysv attach 0")[0] == 0
    assert "nattch=1" in run("nsenter --ipc -t 2 ipcs -m -i 0")[1]
    run("exit")
    # the holder waits for the shell that ran nsenter, as on Linux (nsenter execs)
    assert "nattch=0" in run("ipcs -m -i 0")[1]
    assert run("sysv attach 0") == (0, "", "")
    assert run("sysv lock 0") == (0, "", "") and run("ipcrm -m 0")[0] == 0
    assert "dest   locked" in run("ipcs -m")[1]
    assert run("sysv x")[0] == 2 and run("sysv send 0")[2].startswith("sysv: usage:")


def test_child_shells_see_exported_variables_only_and_empty_words_vanish():
    sh, run = shell()
    run("A=1"), run("export B=2")
    run("unshare --ipc")
    assert run('echo "[$A][$B]"')[1] == "[][2]\n"
    run("exit")
    assert run("X=")[0] == 0 and run("echo a $X b")[1] == "a b\n"
    assert run('echo a "$X" b')[1] == "a  b\n"          # a quoted empty word stays
    run('Y="-q -c"')
    assert "Creators/Owners" in run("ipcs $Y")[1]
    assert run("export 1x")[2] == "bash: line 9: export: `1x': not a valid identifier\n"


def test_bash_c_runs_in_a_child_shell_and_exits_with_its_status():
    sh, run = shell()
    assert run("unshare --ipc bash -c 'ipcmk -Q; exit 5'") == (5, "Message queue id: 0\n", "")
    assert run("ipcs -q -i 0")[0] == 0 and "not found" in run("ipcs -q -i 0")[2]
    assert run("bash -c 'nosuch'") == (127, "", "bash: line 1: nosuch: command not found\n")
    assert run("bash -c true") == (0, "", "") and len(sh.levels) == 1


def test_quoted_operators_are_words_and_a_syntax_error_ends_the_reading_shell():
    out, err = [], []
    sh = Shell(out=out.append, err=err.append)
    status = sh.run_script("echo ';' '&&' '>'\nunshare --ipc\n; echo no\necho 'two\nlines' &&\n"
                           "  echo next\n")
    assert "".join(out) == "; && >\ntwo\nlines\nnext\n" and status == 0
    assert "".join(err) == ("-bash: line 1: syntax error near unexpected token `;'\n"
                            "-bash: line 1: `; echo no'\n")
    assert len(sh.levels) == 1             # the child shell ended, its parent read on


def test_unquoted_globs_expand_over_the_simulated_files():
    sh, run = shell()
    assert run("echo /proc/sysvipc/*")[1] == "/proc/sysvipc/msg /proc/sysvipc/sem " \
                                             "/proc/sysvipc/shm\n"
    assert run("echo /proc/sysvipc/s?m '/proc/*' /x/*")[1] == \
        "/proc/sysvipc/sem /proc/sysvipc/shm /proc/* /x/*\n"


def test_compound_commands_and_substitutions_are_refused_before_anything_runs():
    sh, run = shell()
    for line in ("ipcmk -Q; for i in 1 2; do ipcmk -Q; done", "ipcmk -Q && echo $(ipcs)",
                 "(ipcmk -Q)"):
        status, out, err = run(line)
        assert status == 2 and out == "" and "not modelled by the ipcsim shell" in err
    assert run("echo '$(x)' \\` for")[1] == "$(x) ` for\n" and run(":")[0] == 0


def test_the_shell_outlives_a_kill_of_its_group_and_out_of_range_numbers():
    out, err = [], []
    sh = Shell(out=out.append, err=err.append)
    assert sh.run("mq open /q -m 99999999999999999999") == 1
    assert "invalid number" in "".join(err)
    sh.run("unshare --ipc")
    sh.run("kill 0")                       # the whole group, both shells included
    assert sh.ended and sh.status == 143


def test_lsns_columns_take_their_width_hints_as_libsmartcols_does():
    sh, run = shell()
    run("unshare --ipc")
    out = run("lsns -t ipc -p $$ -T")[1].splitlines()
    assert out[0].startswith("NS           TYPE  NPROCS PID")      # TYPE: its hint, 5
    assert run("lsns -t ipc -p $$ -n -o TYPE,NS")[1].startswith("ipc  40265")  # heading's 4


# --- jobs, waiting calls, pipelines and the new commands ---------------------------------
def test_jobs_wait_and_bash_messages_in_a_script():
    sh, run = shell()
    run("mq open /q")
    assert run("mq receive /q &") == (0, "", "")          # a script's bash says nothing
    pid = sh.kernel.processes()[-1].pid
    assert run("echo $!")[1] == f"{pid}\n"
    assert run("jobs -l")[1] == f"[1]+ {pid:5d} Running                 mq receive /q &\n"
    assert run("fg") == (1, "", "bash: line 5: fg: no job control\n")
    assert run("wait 99") == (127, "", "bash: line 6: wait: pid 99 is not a child of this "
                                       "shell\n")
    assert run("kill %3") == (1, "", "bash: line 7: kill: %3: no such job\n")
    assert run("mq send /q hi") == (0, "hi\t(priority 0)\n", "")   # the job printed it
    assert run("jobs") == (0, "[1]+  Done                    mq receive /q\n", "")
    assert run("jobs") == (0, "", "")
    run("false &")
    assert run("wait $!; echo $?")[1] == "1\n"


def test_every_process_blocked_is_a_deadlock_report_and_the_state_stays():
    sh, run = shell()
    run("ipcmk -S 2")
    run("sysv semop 0 1 1 && sysv semop 0 0 -1,1 -1 &")
    status, out, err = run("sysv semop 0 1 -1,1 -1")
    assert status == 1
    lines = err.splitlines()
    assert lines[0] == "ipcsim: deadlock: every program is blocked and no timer can wake any:"
    assert [line.split()[:3] for line in lines[1:-1]] == [
        ["pid", "4", "(bash):"], ["pid", "6", "(sysv):"], ["pid", "7", "(sysv):"]]
    assert lines[-1] == "[2]+  Running                 sysv semop 0 1 -1,1 -1 &"
    rows = run("ipcs -s -i 0")[1].splitlines()[-3:-1]
    assert [r.split()[:4] for r in rows] == [["0", "0", "1", "0"], ["1", "1", "1", "0"]]
    assert run("sysv semop 0 0 1,1 2")[0] == 0          # both can go on now
    assert run("jobs")[1] == ("[1]-  Done                    sysv semop 0 1 1 && sysv semop "
                              "0 0 -1,1 -1\n[2]+  Done                    sysv semop 0 1 "
                              "-1,1 -1\n")
    assert run("sysv semop 0 0 -1 --nowait") == (1, "", "sysv: semop 0: Resource "
                                                         "temporarily unavailable\n")
    assert run("sysv semop 0 x -1")[0] == 2
    sh.close()


def test_eof_ends_the_innermost_shell_only():
    out, err = [], []
    sh = Shell(out=out.append, err=err.append, interactive=True)
    sh.run("unshare --ipc")
    inner_ns = sh.proc.ipc_ns
    sh.run("bash")
    sh.eof()
    assert err[-1] == "exit\n" and not sh.ended and sh.proc.ipc_ns is inner_ns
    sh.eof()
    assert err[-1] == "logout\n" and not inner_ns.alive and sh.proc.pid == 2
    sh.eof()
    assert sh.ended


TEXT = "b 2\na 10\nc 1\na 10\nB x\n"


@pytest.mark.parametrize("line", [
    "grep a", "grep -c a", "grep -v -n a", "grep -i b", "grep -E '1|x'", "grep 'a\\|B'",
    "grep -w 1", "grep -x 'c 1'", "grep -o '[0-9]*'", "grep nomatch", "grep -q a",
    "wc", "wc -l", "wc -w -c", "head -n 2", "head -2", "head -n -2", "head -c 5",
    "tail -n 2", "tail -n +3", "tail -c 4", "sort", "sort -r", "sort -n -k 2", "sort -u",
    "sort -k 2 -t ' '", "head -n q", "grep", "sort -q"])
def test_filters_print_what_coreutils_and_grep_print(line):
    import subprocess
    real = subprocess.run(["bash", "-c", line], input=TEXT, capture_output=True, text=True,
                          env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
    sh, run = shell()
    run("touch /tmp/in; echo -n '" + TEXT + "' > /tmp/in")
    status, out, err = run(line + " < /tmp/in")
    assert (status, out) == (real.returncode, real.stdout)
    assert err == real.stderr


def test_ls_l_id_whoami_cd_pwd():
    sh, run = shell()
    lines = run("ls -l /proc/$$/ns")[1].splitlines()
    assert lines[0] == "total 0"
    assert "lrwxrwxrwx 1 root root 0 Jan  1 00:00 ipc -> ipc:[4026531839]" in lines
    run("mq open /q")
    run("mount -t mqueue none /dev/mqueue")
    assert run("ls -l /dev/mqueue")[1] == \
        "total 0\n-rw-r--r-- 1 root root 80 Jan  1 00:00 q\n"
    assert run("id; whoami")[1] == "uid=0(root) gid=0(root) groups=0(root)\nroot\n"
    assert run("setpriv --reuid=1000 --regid=1000 --clear-groups id")[1] == \
        "uid=1000 gid=1000 groups=1000\n"
    assert run("setpriv --reuid=1000 --regid=1000 --clear-groups whoami") == \
        (1, "", "whoami: cannot find name for user ID 1000\n")
    assert run("cd /proc/self/ns; pwd; readlink ipc; cd ..; pwd")[1] == \
        "/proc/self/ns\nipc:[4026531839]\n/proc/self\n"
    assert run("cd /nope")[2] == "bash: line 9: cd: /nope: No such file or directory\n"
    assert run("clear")[1] == "\x1b[H\x1b[2J\x1b[3J"


def test_the_readme_lab_transcript_is_what_the_script_prints():
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    script = root / "examples" / "lab_namespaces.sh"
    done = subprocess.run([sys.executable, "-m", "ipcsim", "shell", "--echo"],
                          stdin=script.open(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, cwd=root, env={"PYTHONPATH": str(root)}, check=True)
    printed = "\n".join(line.rstrip() for line in done.stdout.splitlines()) + "\n"
    readme = (root / "README.md").read_text()
    start = readme.index("$ ipcsim shell --echo < examples/lab_namespaces.sh 2>&1\n")
    block = readme[start:readme.index("```", start)].split("\n", 1)[1]
    assert block == printed
    assert "ipcsim: deadlock: every program is blocked" in printed


REGEX_TEXT = "x (?i)x a\n12 aa A-Z ^a a$b\n  \\d]*\n{1}a a{1 tab\there\n"
_PATTERNS_E = ["(?i)x", "(", ")", "a{1", "[", "a[", "a**", "+x", "*x", "a{2,1}", "\\", "x\\",
               "[[:foo:]]", "[:space:]", "a{99999}", "()", "a|*b", "(*a)", "{1}a", "a{,2}",
               "[a", "[]", "[z-a]", "a{1}{2}", "[[:digit:]]+", "[[:space:]]", "[[:alpha:]]+",
               "[[:upper:]]", "[^[:alnum:] ]", "\\<x", "(a)\\1", "(a)\\2", "\\d", "[]a-]+",
               "[a\\]", "^a|x$", "[[:alpha:]-z]", "x{32768}", "[[.a.]]", "(a|)x",
               "[[:blank:]]", "[[:punct:]]+", "[[:xdigit:]]+", "[a-[:alpha:]]", "[&&a]",
               "[~~|]+", "[||]"]
_PATTERNS_G = ["\\(", "\\)", "a\\{1", "*x", "a**", "\\{1\\}", "a\\{2,1\\}", "x\\+",
               "[[:digit:]]\\+", "a\\|b", "^*", "a\\{1,2\\}\\{2\\}", "a^", "a$b", "\\(a\\)\\1",
               "\\(a\\)\\2", "[[:upper:]]", "a\\{,2\\}", "x\\{x\\}", "[[:lower:]]*", "(a)",
               "a|b", "a+", "\\(^a\\)", "\\(b$\\)"]


@pytest.mark.parametrize("line", [f"grep -oE '{p}'" for p in _PATTERNS_E]
                         + [f"grep -o '{p}'" for p in _PATTERNS_G]
                         + [f"grep -c -i '[[:upper:]]'", "grep -e '\\(a\\)' -e '\\(b\\)\\1'"])
def test_grep_regular_expressions_as_gnu_grep(line):
    """POSIX classes, GNU's extensions and its messages (errors exit 2, warnings go to
    stderr), with no Python warning."""
    import subprocess
    import warnings
    real = subprocess.run(["bash", "-c", line], input=REGEX_TEXT, capture_output=True,
                          text=True, env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
    sh, run = shell()
    run("touch /tmp/in; echo -n '" + REGEX_TEXT + "' > /tmp/in")
    assert run("cat /tmp/in")[1] == REGEX_TEXT
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        status, out, err = run(line + " < /tmp/in")
    assert (status, out, err) == (real.returncode, real.stdout, real.stderr)


def test_a_command_that_fails_unexpectedly_says_so_in_one_line(monkeypatch):
    """A Python exception in a command, in the foreground or in a background job, is one
    line on stderr and exit status 2; the shell reads on."""
    from ipcsim.shell import shell as shell_module

    def broken(ctx, args):
        raise KeyError("no such entry")
    monkeypatch.setitem(shell_module.PROGRAMS, "wc", (broken, "counts"))
    sh, run = shell()
    assert run("echo x | wc; echo $?") == \
        (0, "2\n", "ipcsim: wc: internal error: KeyError: 'no such entry'\n")
    assert run("wc & wait $!; echo $?")[1:] == \
        ("2\n", "ipcsim: wc: internal error: KeyError: 'no such entry'\n")


SORT_TEXT = "b 2 x\na 10 y\nc 1 z\nA  10 y\n\tB 3\nc 1 a\n-1 0 b\n"


@pytest.mark.parametrize("line", [
    "sort -k2n", "sort -k2,2n", "sort -k2,2nr", "sort -k2nr", "sort -k2,2 -k1,1",
    "sort -k2.2", "sort -k1.2,1.2", "sort -k2b", "sort -bk2", "sort -k3 -r", "sort -k3r",
    "sort -fu", "sort -u -k2,2n", "sort -k2,2n -k3,3r", "sort -t' ' -k2,2n", "sort -k1f",
    "sort -n", "sort -nr", "sort -k0", "sort -k1.0", "sort -k2,0", "sort -kx", "sort -k2,x",
    "sort -k2z", "sort -k2.x", "sort -k2,2.x", "sort -k99999999999999999999999",
    "sort nosuch", "sort - nosuch other", "head nosuch", "tail nosuch", "head -n 1 - nosuch",
    "wc nosuch", "grep x nosuch", "tail -0", "tail -n0", "head -0", "tail -c0",
    "sort /proc", "head /proc", "tail /proc", "grep x /proc"])
def test_sort_keys_and_the_filters_messages_as_coreutils(line, tmp_path):
    import subprocess
    real = subprocess.run(["bash", "-c", line], input=SORT_TEXT, capture_output=True,
                          text=True, cwd=tmp_path, env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
    sh, run = shell()
    run("touch /tmp/in; echo -n '" + SORT_TEXT + "' > /tmp/in")
    assert (run(line + " < /tmp/in")) == (real.returncode, real.stdout, real.stderr)


@pytest.mark.parametrize("command", ["grep", "wc", "head", "tail", "sort", "id", "whoami"])
def test_the_filters_answer_help_as_gnu_begins_it(command):
    import subprocess
    real = subprocess.run([command, "--help"], capture_output=True, text=True,
                          env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
    sh, run = shell()
    status, out, err = run(command + " --help nosuch-operand")
    assert (status, err) == (0, "")
    assert out.splitlines()[0] == real.stdout.splitlines()[0]
    *help, last = out.splitlines()
    assert set(help) <= set(real.stdout.splitlines())
    assert last.startswith("The ipcsim shell models the options above only")


@pytest.mark.parametrize("builtin", ["cd", "pwd", "jobs", "wait", "kill", "fg", "bg", "exit"])
def test_the_builtins_answer_help_as_bash_does(builtin):
    """bash 5.2 prints a builtin's help on stdout and returns 2; nothing else happens."""
    import subprocess
    real = subprocess.run(["bash", "-c", f"{builtin} --help; echo $?; pwd"],
                          capture_output=True, text=True, cwd="/",
                          env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
    sh, run = shell()
    assert run(f"cd /; {builtin} --help; echo $?; pwd") == (0, real.stdout, real.stderr)
    assert not sh.ended


@pytest.mark.parametrize("line", ["touch --help", "mkdir --help", "touch -c nosuch; ls",
                                  "touch -q x; ls", "touch -- -c; ls", "touch -a -m new; ls"])
def test_touch_and_mkdir_read_options_as_coreutils(line, tmp_path):
    """--help prints the usage (exit 0) and makes nothing; touch's options are not files."""
    import subprocess
    real = subprocess.run(["bash", "-c", line], capture_output=True, text=True, cwd=tmp_path,
                          env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
    sh, run = shell()
    run("mkdir /w; cd /w")
    status, out, err = run(line)
    assert (status, err) == (real.returncode, real.stderr)
    if "--help" in line:
        *help, last = out.splitlines()
        assert help[0] == real.stdout.splitlines()[0]
        assert set(help) <= set(real.stdout.splitlines())
        assert run("ls")[1] == ""
    else:
        assert out == real.stdout
