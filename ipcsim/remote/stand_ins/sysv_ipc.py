"""``import sysv_ipc`` where ipcsim's stand-ins directory is first on PYTHONPATH: ipcsim's fake
while IPCSIM_SERVER is set (and IPCSIM_AUTOLOAD is not 0), else the real package found
further on sys.path. See ipcsim/remote/autoload.py."""
import _ipcsim_stand_in  # type: ignore[import-not-found]  # (found beside it, on PYTHONPATH)

_ipcsim_stand_in.replace(__name__)
