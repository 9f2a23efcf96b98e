"""Run the test suites of sysv_ipc 1.2.0 and posix_ipc 1.3.2 against ipcsim's fakes.

The suites come from the packages' source distributions, fetched with ``pip download`` into
a temporary directory (nothing of them is stored in this project), and run with
``pytest -s --ipcsim-fake-modules``. The run fails if a suite imported a real module instead
of the fake, or if its counts differ from the ones the real packages have on a real Linux
kernel (sysv_ipc: 130 passed, 7 skipped; posix_ipc: 93 passed).

    python3 tools/upstream_tests.py               # both suites against the fakes
    python3 tools/upstream_tests.py --real        # against the real packages (Linux, in a
                                                  #  fresh `unshare --ipc` when root)
    python3 tools/upstream_tests.py --semtimedop  # sysv_ipc as if built with semtimedop

Exit status 0 when every suite gave its expected counts; 77 (skipped) when the sources
cannot be downloaded.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"sysv_ipc": "1.2.0", "posix_ipc": "1.3.2"}
EXPECTED = {"sysv_ipc": {"passed": 130, "skipped": 7}, "posix_ipc": {"passed": 93}}
# With SEMAPHORE_TIMEOUT_SUPPORTED the six timeout tests run too.
EXPECTED_SEMTIMEDOP = {"sysv_ipc": {"passed": 136, "skipped": 1}}
SKIP = 77

# Loaded by pytest in the suite's run: refuses to go on if the real module is what the
# tests import, and makes sysv_ipc's semaphores honour timeouts when asked.
GUARD = '''
import os
import sys
import pytest

WANT_FAKE = os.environ.get("IPCSIM_UPSTREAM_MODE") == "fake"


def pytest_sessionstart(session):
    import {name} as module
    origin = getattr(module, "__file__", "?")
    fake = module.__spec__ is not None and module.__spec__.name.startswith("ipcsim.")
    if fake != WANT_FAKE:
        raise pytest.UsageError(f"{name} under test is {{origin}}: expected the "
                                f"{{'fake' if WANT_FAKE else 'real'}} module")
    if fake and os.environ.get("IPCSIM_SEMTIMEDOP"):
        module.SEMAPHORE_TIMEOUT_SUPPORTED = True
    print(f"\\n{name} under test: {{origin}}")


def pytest_sessionfinish(session, exitstatus):
    real = sorted(m.__file__ for m in list(sys.modules.values())
                  if os.path.basename(getattr(m, "__file__", None) or "").split(".")[0]
                  in ("sysv_ipc", "posix_ipc") and not m.__file__.endswith(".py"))
    if WANT_FAKE and real:
        print(f"\\nREAL MODULE LOADED: {{real}}")
        session.exitstatus = 3
'''


def fetch(workdir: Path) -> dict[str, Path]:
    """Download and unpack the source distributions; the path of each package's tree."""
    specs = [f"{name}=={version}" for name, version in PACKAGES.items()]
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--timeout", "20", "--retries",
           "2", "--no-deps", "--no-binary",
           ":all:", "--dest", str(workdir), *specs]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if proc.returncode:
        raise FileNotFoundError(f"pip download failed:\n{proc.stderr.strip()[-2000:]}")
    trees = {}
    for name, version in PACKAGES.items():
        archive = workdir / f"{name}-{version}.tar.gz"
        with tarfile.open(archive) as tar:
            tar.extractall(workdir, filter="data") if hasattr(tarfile, "data_filter") \
                else tar.extractall(workdir)
        trees[name] = workdir / f"{name}-{version}"
    return trees


def plugin_args(env: dict) -> list[str]:
    """``-p ipcsim.pytest_plugin`` unless an installed ipcsim registers the plugin already
    (seen with the child's own path, which may hold an ipcsim with its entry point)."""
    probe = ("from importlib import metadata; print(any(ep.name == 'ipcsim' for ep in "
             "metadata.entry_points(group='pytest11')))")
    found = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                           text=True, timeout=60).stdout.strip() == "True"
    return [] if found else ["-p", "ipcsim.pytest_plugin"]


def run_suite(name: str, tree: Path, real: bool, semtimedop: bool) -> dict[str, int]:
    """Run one suite in its unpacked tree; the outcome counts from pytest's summary."""
    (tree / "conftest.py").write_text(GUARD.format(name=name))
    # the package's own sources must not shadow anything: only tests/ and conftest.py run
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               IPCSIM_UPSTREAM_MODE="real" if real else "fake")
    if semtimedop:
        env["IPCSIM_SEMTIMEDOP"] = "1"
    cmd = [sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider", "tests"]
    if not real:
        cmd[3:3] = [*plugin_args(env), "--ipcsim-fake-modules"]
    elif os.geteuid() == 0 and shutil.which("unshare"):
        cmd = ["unshare", "--ipc", *cmd]
    print(f"$ {' '.join(cmd)}   (in {tree})", flush=True)
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=1800)
    sys.stdout.write(proc.stdout[-4000:])
    if "REAL MODULE LOADED" in proc.stdout:
        return {"real module loaded": 1}
    sys.stderr.write(proc.stderr[-4000:])
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|skipped|errors?|"
                                                      r"xfailed|xpassed)", summary)}
    if proc.returncode not in (0, 1):
        counts.setdefault("errors", 1)
    return counts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real", action="store_true", help="run against the real packages")
    ap.add_argument("--semtimedop", action="store_true",
                    help="sysv_ipc's fake as if built with semtimedop (expects 136/1)")
    ap.add_argument("--only", choices=sorted(PACKAGES), help="run one suite")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ipcsim-upstream-") as tmp:
        try:
            trees = fetch(Path(tmp))
        except (FileNotFoundError, subprocess.SubprocessError, OSError) as e:
            print(f"SKIPPED: cannot fetch the upstream sources: {e}")
            return SKIP
        ok = True
        for name, tree in trees.items():
            if args.only and name != args.only:
                continue
            counts = run_suite(name, tree, args.real, args.semtimedop)
            expected = dict(EXPECTED[name])
            if args.semtimedop and not args.real:
                expected = EXPECTED_SEMTIMEDOP.get(name, expected)
            good = counts == expected
            ok &= good
            print(f"{name}: {counts} (expected {expected}) {'OK' if good else 'MISMATCH'}",
                  flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
