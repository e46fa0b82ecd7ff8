"""Joint degree distributions of a molecule (fragment counts of order 0 to 3).

Order 0 counts elements (``C``), order 1 bonded pairs (``C-H``), order 2 paths
of three atoms (``H-C-H``), order 3 paths of four atoms (``H-C-C-H``). A path
and its reverse are the same fragment, counted once, under the label that
sorts first, so ``N-C-H`` and ``H-C-N`` are both ``H-C-N``.
"""

from __future__ import annotations

from collections import Counter

__all__ = ('fragment_counts', 'FRAGMENT_ORDERS')

FRAGMENT_ORDERS = (0, 1, 2, 3)


def fragment_counts(symbols: list[str], edges: list[tuple[int, int]], max_order: int = 3) -> dict[str, int]:
    """Counts of every element, bonded pair and simple path of up to ``max_order + 1`` atoms."""
    neighbours: list[list[int]] = [[] for _ in symbols]
    for i, j in edges:
        neighbours[i].append(j)
        neighbours[j].append(i)

    counts: Counter[str] = Counter()
    paths = [[i] for i in range(len(symbols))]
    for order in range(max_order + 1):
        for path in paths:
            # Each undirected path is met twice (once from each end): keep one.
            if order == 0 or path[0] < path[-1]:
                forward = '-'.join(symbols[i] for i in path)
                backward = '-'.join(symbols[i] for i in reversed(path))
                counts[min(forward, backward)] += 1
        paths = [path + [k] for path in paths for k in neighbours[path[-1]] if k not in path]
    return dict(sorted(counts.items(), key=lambda item: (item[0].count('-'), item[0])))
