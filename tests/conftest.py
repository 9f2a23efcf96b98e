import pytest

import ipcsim


@pytest.fixture
def k():
    kernel = ipcsim.Kernel(seed=0)
    yield kernel
    kernel.close()


@pytest.fixture
def nobody(k):
    """A process of uid/gid 65534 (no capabilities) in the initial namespace."""
    p = k.init.fork()
    p.setgid(65534)
    p.setuid(65534)
    return p


@pytest.fixture(params=["greenlet", "threads"])
def both_executors(request, monkeypatch):
    """Run a test once with each executor as the default (modules opt in with
    ``pytestmark = pytest.mark.usefixtures("both_executors")``)."""
    from ipcsim.sim import executor
    monkeypatch.setattr(executor, "DEFAULT", request.param)
    monkeypatch.setenv("IPCSIM_EXECUTOR", request.param)     # for the commands tests run
    return request.param
