"""A tour of IPC namespaces, as ipc_namespaces(7) tells it, acted out by ipcsim.

Run it:  python3 examples/namespaces_tour.py [--seed N]     (the same as: ipcsim demo)

The story: a machine boots with one IPC namespace. Two "containers" are started, each in
a new namespace of its own, with its own limits. Processes join and leave; a namespace is
kept alive by a handle after its last process is gone; and a namespace vanishes, with
everything in it, the moment nothing refers to it any more.

The story's code is ipcsim/demo.py, so that the installed ``ipcsim demo`` command tells it
too; read it there, or print it with ``ipcsim demo --source``.
"""
import argparse

from ipcsim.demo import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="scheduler seed")
    main(parser.parse_args().seed)
