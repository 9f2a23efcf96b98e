"""Paths as the fuzzer's "path" and "mqperm" classes spell them: what Linux's walk does with
"..", ".", repeated slashes, names past NAME_MAX and paths past PATH_MAX, and the search
permission of an mqueue mount's root. Each scenario is a minimal one that once differed.
"""
from . import scenario

AREA = "paths"

SCENARIOS = [
    # The walk fails at a name that does not exist: ".." after it does not undo it.
    scenario(AREA, "dotdot-after-a-missing-name-is-enoent", """
a.read_file("/proc/sys/kernel/nope/../msgmax")
a.write_file("/proc/sys/fs/mqueue/nope/../msg_max", "8192")
a.read_file("/nope/../proc/sysvipc")
a.listdir("/proc/sys/nope/../fs/mqueue")
a.listdir("/proc/sys/../sys/nope/./../fs/mqueue/msg_max//")
"""),
    # Anything after a file, ".." too, is ENOTDIR; a /proc/PID/ns link leads to a file.
    scenario(AREA, "dotdot-after-a-file-is-enotdir", """
a.read_file("/proc/sys/kernel/msgmax/..")
a.read_file("/proc/sys/kernel/msgmax/../msgmax")
a.listdir("/proc/sys/kernel/msgmax/..")
a.readlink("/proc/self/ns/ipc/../ipc")
a.readlink("/proc/self/ns/../ns/ipc")
a.stat("/proc/sys/kernel/msgmax/")
"""),
    # PATH_MAX counts the NUL: 4095 bytes are walked, 4096 are ENAMETOOLONG before any walk.
    # A name past NAME_MAX: ENAMETOOLONG where the file system checks it (tmpfs, mqueue),
    # ENOENT in /proc/sys (proc_sys_lookup does not).
    scenario(AREA, "path_max-and-name_max", """
a.read_file("/" + "./" * 2036 + "proc/sys/kernel/msgmax")
a.read_file("/" + "./" * 2037 + "proc/sys/kernel/msgmax")
a.listdir("/" + "./" * 2041 + "proc/sysvipc")
a.listdir("/" + "./" * 2043 + "proc/sysvipc")
a.read_file("/proc/sys/kernel/" + "x" * 256)
a.mount("none", "/run/mq", "mqueue", 0)
a.read_file("/run/mq/" + "x" * 255)
a.read_file("/run/mq/" + "x" * 256)
a.mq_open("/" + "x" * 255, O_CREAT | O_RDWR, 0o600, None)
a.mq_open("/" + "x" * 256, O_CREAT | O_RDWR, 0o600, None)
"""),
    # Walking through an mqueue mount's root needs search permission on it, listing it
    # read permission; the sticky bit then guards unlinking.
    scenario(AREA, "mqueue-root-search-permission", """
a.mount("none", "/run/mq", "mqueue", 0)
m1 = a.mq_open("/f1", O_CREAT | O_RDWR, 0o600, None)
a.chmod("/run/mq", 0o700)
b = a.fork()
b.setuid(1000)
b.listdir("/run/mq")
b.unlink("/run/mq/f2")
b.read_file("/run/mq/f1")
b.stat("/run/mq/f1")
a.chmod("/run/mq", 0o1777)
b.read_file("/run/mq/f1")
b.stat("/run/mq/f1")
b.unlink("/run/mq/f1")
"""),
]
