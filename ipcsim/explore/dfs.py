"""Exhaustive exploration: depth-first over the picks, with dynamic partial-order reduction.

Every run replays a prefix of picks and then runs unsteered; each pick is a node of the
search tree, which remembers the runnable tasks there and which of them are still to try
(its *backtrack* set).

Without reduction every runnable task is tried at every node (within the preemption
bound, if one is given): every schedule is run.

With reduction (source-DPOR with sleep sets: Abdulla, Aronis, Jonsson, Sagonas, POPL 2014)
only the picks that can change something are tried. After each run, every *race* is found:
two steps of different tasks that touch one object in a conflicting way (see
:func:`ipcsim.explore.schedule.dependent`), the first not already ordered before the
second by other steps. For each race the tasks that could run first in the reversed order
(the *initials*) are looked at, and one of them is added to the backtrack set of the node
before the first step, unless one is there already. Sleep sets skip what a sibling already
covered: after trying task p at a node, p sleeps in the siblings' subtrees until a step
dependent on p's step runs. Two schedules that differ only in the order of independent
steps are the same *interleaving* (a Mazurkiewicz trace); the search runs at least one
schedule of each, and the report counts both.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Iterator

from ..errors import SimulationError
from .schedule import Recorder, Step, default_pick, dependent


class Node:
    """One pick of the current run, in the search tree."""

    __slots__ = ("cands", "cur", "chosen", "step", "backtrack", "done", "sleep", "before")

    def __init__(self, cands: tuple[str, ...], cur: str | None, chosen: str,
                 sleep: dict[str, Step], before: int):
        self.cands = cands
        self.cur = cur
        self.chosen = chosen
        self.step: Step | None = None
        self.backtrack = {chosen}
        self.done: dict[str, Step] = {}     # tried here -> the step it took
        self.sleep = sleep
        self.before = before                # preemptions on the way here

    def preempts(self, label: str) -> bool:
        return self.cur is not None and label != self.cur and len(self.cands) > 1


class Search:
    """The state of one depth-first search; :meth:`chooser` steers a run along it and
    :meth:`next` moves to the next run (False when the search is complete)."""

    def __init__(self, reduction: bool = True, bound: int | None = None):
        self.reduction = reduction and bound is None
        self.bound = bound
        self.nodes: list[Node] = []
        self.forced = 0             # picks of the next run that replay the tree
        self.diverged: str | None = None
        self.signatures: set[int] = set()
        self.cut: tuple[str, ...] | None = None    # the runnable tasks where a run was cut

    def chooser(self) -> "_Steer":
        return _Steer(self)

    # --- after a run --------------------------------------------------------------------
    def finish_run(self, rec: Recorder, complete: bool) -> int | None:
        """Take in what the run did; returns the interleaving's signature (None for a run
        that did not end: pruned, or stopped by a divergence)."""
        steps = rec.steps
        n = min(len(steps), len(self.nodes))
        del self.nodes[n:]
        for node, step in zip(self.nodes, steps):
            node.step = step
        start = max(self.forced - 1, 0)
        races = self.reduction
        signature = _analyse(self.nodes, steps[:n], start if races else n,
                             self._race if races else None)
        if races:
            self._disabled(start, () if complete else self.cut)
        self.cut = None
        if complete:
            self.signatures.add(signature)
            return signature
        return None

    def next(self) -> bool:
        """Move to the deepest node with a pick left to try; False if none is left."""
        nodes = self.nodes
        for i in range(len(nodes) - 1, -1, -1):
            node = nodes[i]
            if node.step is not None:
                node.done[node.chosen] = node.step
            todo = [c for c in node.cands if c in node.backtrack and c not in node.done
                    and c not in node.sleep and self._within_bound(node, c)]
            if todo:
                node.chosen = todo[0]
                node.step = None
                del nodes[i + 1:]
                self.forced = i + 1
                return True
        return False

    def _within_bound(self, node: Node, label: str) -> bool:
        return self.bound is None or node.before + node.preempts(label) <= self.bound

    def _disabled(self, start: int, end: tuple[str, ...] | None) -> None:
        """A step that kills or stops another task (runnable at its pick, not at the next)
        takes away the steps that task was about to take, which never show in the run:
        their races with later steps go unseen. (Source DPOR and sleep sets assume that no
        step disables another task.) So the disabled task is tried at that pick, before the
        step that disabled it, even if it sleeps there: a run where it goes on shows its
        races. ``end``: the runnable tasks after the last step (none when the run ended;
        None if not known)."""
        nodes = self.nodes
        last = len(nodes) - 1
        for i in range(start, len(nodes)):
            after = nodes[i + 1].cands if i < last else end
            if after is None:
                break
            node = nodes[i]
            for label in node.cands:
                if label != node.chosen and label not in after:
                    node.sleep.pop(label, None)
                    node.backtrack.add(label)

    def _race(self, i: int, initials: set[str], later: str) -> None:
        """Steps i and a later one race; ``initials`` could run first instead."""
        node = self.nodes[i]
        enabled = initials.intersection(node.cands)
        if not enabled or enabled & node.backtrack:
            return
        awake = enabled - node.sleep.keys()
        pick = later if later in awake else min(awake or enabled, key=node.cands.index)
        node.backtrack.add(pick)

    def new_node(self, rec: Recorder, cur: str | None, labels: tuple[str, ...]) -> str | None:
        """A pick past the replayed prefix: the unsteered pick among those not asleep."""
        i = len(rec.steps)
        nodes = self.nodes
        before = 0
        sleep: dict[str, Step] = {}
        if i:
            parent = nodes[i - 1]
            before = parent.before + parent.preempts(parent.chosen)
            if self.reduction:
                prev = rec.steps[i - 1]
                base = dict(parent.sleep)
                base.update(parent.done)
                sleep = {p: s for p, s in base.items()
                         if p != prev.label and not dependent(s, prev)}
        avail = [c for c in labels if c not in sleep]
        if self.bound is not None and before >= self.bound and cur in labels:
            avail = [cur] if cur not in sleep else []
        if not avail:
            self.cut = labels
            return None                      # every task asleep: covered elsewhere
        chosen = default_pick(cur, avail)
        node = Node(labels, cur, chosen, sleep, before)
        if not self.reduction:
            node.backtrack = set(labels)
        nodes.append(node)
        return chosen


class _Steer:
    """The chooser of one run of a search."""

    def __init__(self, search: Search):
        self.search = search

    def choose(self, rec: Recorder, cur: str | None, labels: tuple[str, ...]) -> str | None:
        search = self.search
        i = len(rec.steps)
        if i < search.forced:
            node = search.nodes[i]
            if node.cands != labels or node.cur != cur:
                search.diverged = (f"pick {i + 1}: the runnable tasks were "
                                   f"{', '.join(node.cands)} on an earlier run and are "
                                   f"{', '.join(labels)} now, after the same picks")
                return None
            return node.chosen
        return search.new_node(rec, cur, labels)


def _analyse(nodes: list[Node], steps: list[Step], start: int,
             race: Callable[[int, set[str], str], None] | None) -> int:
    """Vector clocks of the run's happens-before order; for each step from ``start`` on,
    its races with earlier steps are handed to ``race``. Returns a signature of the
    interleaving (equal for two runs that order every dependent pair alike)."""
    n = len(steps)
    vcs: list[dict[str, int]] = []
    idx = [0] * n
    counts: dict[str, int] = {}
    last: dict[str, int] = {}
    touched: dict[Any, list[int]] = {}     # key -> the steps that touched it, in order
    barriers: list[int] = []
    for k in range(n):
        step = steps[k]
        p = step.label
        idx[k] = counts[p] = counts.get(p, 0) + 1
        prev = last.get(p)
        clock = dict(vcs[prev]) if prev is not None else {}
        racing = []
        if step.barrier:
            earlier: Iterable[int] = range(k - 1, -1, -1)
        else:
            near = set(barriers)
            for key in step.access:
                near.update(touched.get(key, ()))
            earlier = sorted(near, reverse=True)
            for key in step.access:
                touched.setdefault(key, []).append(k)
        if step.barrier:
            barriers.append(k)
        for i in earlier:
            other = steps[i]
            q = other.label
            if q == p or clock.get(q, 0) >= idx[i] or not dependent(other, step):
                continue
            racing.append(i)
            for r, c in vcs[i].items():
                if clock.get(r, 0) < c:
                    clock[r] = c
        clock[p] = idx[k]
        vcs.append(clock)
        last[p] = k
        if race is not None and k >= start:
            for i in racing:
                race(i, _initials(steps, vcs, idx, i, k), p)
    return hash(frozenset((s.label, idx[k], tuple(sorted(vcs[k].items())))
                          for k, s in enumerate(steps)))


def _initials(steps: list[Step], vcs: list[dict[str, int]], idx: list[int], i: int,
              k: int) -> set[str]:
    """The tasks that could take the first step of v = the steps between i and k that do
    not happen after i, then k's: those whose first step in v follows none of v's."""
    label_i, idx_i = steps[i].label, idx[i]
    first: dict[str, int] = {}          # task -> its first step in v
    for m in _between(i, k):
        if vcs[m].get(label_i, 0) >= idx_i:
            continue                    # happens after step i
        q = steps[m].label
        if q not in first:
            first[q] = m
    q = steps[k].label
    if q not in first:
        first[q] = k
    out = set()
    for q, m in first.items():
        clock = vcs[m]
        if not any(r != q and idx[fm] <= clock.get(r, 0) for r, fm in first.items()):
            out.add(q)
    return out


def _between(i: int, k: int) -> Iterator[int]:
    return iter(range(i + 1, k))


class SearchRun:
    """One run of a search: its result (an ``ipcsim.explore.SeedResult`` whose seed is the
    run's number), and the interleaving it was (None for a run cut short)."""

    __slots__ = ("result", "signature")

    def __init__(self, result: Any, signature: int | None):
        self.result = result
        self.signature = signature


class Exploration:
    """Run the scenario ``fn`` under every schedule of a search (see the module's text);
    iterating yields each run as it ends. It stops after ``max_runs`` runs or at
    ``deadline`` (a ``time.perf_counter()`` value), whichever comes first; ``complete``
    then tells whether it ran out of schedules first, ``interleavings`` how many distinct
    interleavings the runs that ended were. Raises :class:`Nondeterminism` if the scenario
    runs differently on the same picks."""

    def __init__(self, fn: Callable[..., object], *, seed: int = 0, reduction: bool = True,
                 bound: int | None = None, max_runs: int | None = None,
                 deadline: float | None = None, executor: str | None = None,
                 limits: Any = None):
        self.fn = fn
        self.seed = seed
        self.state = Search(reduction, bound)
        self.max_runs = max_runs
        self.deadline = deadline
        self.executor = executor
        self.limits = limits
        self.runs = 0
        self.complete = False

    @property
    def interleavings(self) -> int:
        return len(self.state.signatures)

    def __iter__(self) -> Iterator[SearchRun]:
        from . import NO_LIMITS, PRUNED, run_seed
        state = self.state
        limits = NO_LIMITS if self.limits is None else self.limits
        while True:
            rec = Recorder(state.chooser())
            result, _k = run_seed(self.fn, self.seed, executor=self.executor, limits=limits,
                                  control=rec)
            result = _renumber(result, self.runs)
            self.runs += 1
            signature = state.finish_run(rec, result.kind != PRUNED
                                         and state.diverged is None)
            if state.diverged is not None:
                raise Nondeterminism(f"the scenario ran differently on the same picks: "
                                     f"{state.diverged}")
            yield SearchRun(result, signature)
            if not state.next():
                self.complete = True
                return
            if (self.max_runs is not None and self.runs >= self.max_runs) or \
                    (self.deadline is not None and time.perf_counter() >= self.deadline):
                return


def _renumber(result: Any, n: int) -> Any:
    import attrs
    return attrs.evolve(result, seed=n)


class Nondeterminism(SimulationError):
    """The scenario did not run the same way twice on the same picks: something other
    than the schedule decides what it does (real time, ``random``, ``id()``, hash order,
    state kept between runs)."""
