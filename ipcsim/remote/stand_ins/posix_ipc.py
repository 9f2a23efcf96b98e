"""``import posix_ipc`` where ipcsim's stand-ins directory is first on PYTHONPATH: ipcsim's fake
while IPCSIM_SERVER is set (and IPCSIM_AUTOLOAD is not 0), else the real package found
further on sys.path. See ipcsim/remote/autoload.py."""
import os as _os
import sys as _sys
from importlib.util import module_from_spec as _module_from_spec
from importlib.util import spec_from_file_location as _spec_from_file_location

if "_ipcsim_autoload" not in _sys.modules:
    _spec = _spec_from_file_location(
        "_ipcsim_autoload", _os.path.join(_os.path.dirname(_os.path.dirname(
            _os.path.abspath(__file__))), "autoload.py"))
    assert _spec is not None and _spec.loader is not None
    _sys.modules[_spec.name] = _module_from_spec(_spec)
    _spec.loader.exec_module(_sys.modules[_spec.name])
_sys.modules[__name__] = _sys.modules["_ipcsim_autoload"].stand_in(__name__)
