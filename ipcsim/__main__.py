"""``python3 -m ipcsim ...``: the ``ipcsim`` command, where pip's scripts directory is not on
PATH."""
import sys

from .cli import main

sys.exit(main())
