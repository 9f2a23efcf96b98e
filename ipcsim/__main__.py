"""``python3 -m ipcsim ...``: the ``ipcsim`` command, where pip's scripts directory is not on
PATH."""
import sys

try:
    from .cli import main
except KeyboardInterrupt:       # Ctrl-C while starting: the exit status of one, quietly
    sys.exit(130)

if __name__ == "__main__":
    sys.exit(main())
