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
