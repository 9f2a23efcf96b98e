"""``python3 -m ipcsim ...``: the ``ipcsim`` command, where pip's scripts directory is not on
PATH."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
