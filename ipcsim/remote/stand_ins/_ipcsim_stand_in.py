"""What the stand-ins ``sysv_ipc.py`` and ``posix_ipc.py`` beside this file share: load
ipcsim's ``autoload.py`` by path (ipcsim itself may not be importable yet) and put what it
gives for the name in ``sys.modules``. See ipcsim/remote/autoload.py."""
import os as _os
import sys as _sys
from importlib.util import module_from_spec as _module_from_spec
from importlib.util import spec_from_file_location as _spec_from_file_location


def replace(name: str) -> None:
    """``sys.modules[name]``: the fake or the real package, as ``autoload.stand_in`` says."""
    if "_ipcsim_autoload" not in _sys.modules:
        spec = _spec_from_file_location(
            "_ipcsim_autoload", _os.path.join(_os.path.dirname(_os.path.dirname(
                _os.path.abspath(__file__))), "autoload.py"))
        assert spec is not None and spec.loader is not None
        _sys.modules[spec.name] = _module_from_spec(spec)
        spec.loader.exec_module(_sys.modules[spec.name])
    _sys.modules[name] = _sys.modules["_ipcsim_autoload"].stand_in(name)
