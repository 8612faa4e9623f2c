"""No include circle among server/'s modules: a module (a .c and its .h; conn_accept.c,
conn_state.c and conn_private.h are conn's) never reaches itself through the headers it
includes. The one exception is relay.c, where the relay is built and run: it includes
every module by design, and only relay.h (struct relay and its hooks) is seen from below.
So conn.c, the lowest layer of a request, can never include router.h or response.h."""
import os
import re

from relaytest import paths

INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z0-9_]+)\.h"', re.M)
# Private parts of one module, under the module's name.
PARTS = {"conn_accept": "conn", "conn_private": "conn", "conn_state": "conn"}
COMPOSITION_ROOT = "relay.c"


def module(name):
    return PARTS.get(name, name)


def include_graph():
    server = os.path.join(paths.SRCDIR, "server")
    names = {f[:-2] for f in os.listdir(server) if f.endswith((".c", ".h"))}
    graph = {}
    for f in sorted(os.listdir(server)):
        if not f.endswith((".c", ".h")) or f == COMPOSITION_ROOT:
            continue
        with open(os.path.join(server, f), encoding="utf-8") as src:
            included = INCLUDE.findall(src.read())
        edges = graph.setdefault(module(f[:-2]), set())
        edges.update(module(h) for h in included if h in names and module(h) != module(f[:-2]))
    return graph


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_include_circle_in_server():
    assert cycles(include_graph()) == []


def test_conn_knows_neither_router_nor_response():
    graph = include_graph()
    assert not graph["conn"] & {"router", "response"}, graph["conn"]


def test_the_check_sees_a_circle():
    assert cycles({"conn": {"router"}, "router": {"response"}, "response": {"conn"}}) == [
        ["conn", "response", "router"]
    ]
