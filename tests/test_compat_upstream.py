"""The test suites of sysv_ipc 1.2.0 and posix_ipc 1.3.2, from their source distributions,
pass against the fakes with the counts the real packages have on a real kernel.

``tools/upstream_tests.py`` fetches them with ``pip download`` (nothing of them is stored
here); where they cannot be downloaded (no network) this test skips and says so.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "upstream_tests.py"


def test_the_packages_own_suites_pass_against_the_fakes():
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                          timeout=600)
    if proc.returncode == 77:
        pytest.skip(f"the upstream sources could not be downloaded: {proc.stdout[-300:]}"
                    f"{proc.stderr[-300:]}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "sysv_ipc: {'passed': 130, 'skipped': 7}" in proc.stdout
    assert "posix_ipc: {'passed': 93}" in proc.stdout
    assert "under test: " in proc.stdout and os.path.join("ipcsim", "compat", "sysv_ipc.py") in proc.stdout
