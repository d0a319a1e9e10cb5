import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from fastapi_fix.engine.positions import node_positions, statement_positions

SOURCES = [
    pytest.param("def f():\n    return 1\n", id="one function"),
    pytest.param(
        '#!/usr/bin/env python\n# header comment\n\n"""Doc."""\nimport x\n\n\n'
        "@app.get('/')\n@other(\n    1,\n)\nasync def f(a: int = 1):  # trailing\n"
        "    s = '''multi\nline'''\n    return s\n\n\n# leading comment\ndef g(): return 2\n"
        "class C:\n    def m(self):\n        pass\ndef h(\n    a,\n    b,\n) -> None:\n    ...",
        id="header, decorators, leading comments, suites, no final newline",
    ),
    pytest.param(
        "import x\r\n\r\ndef f():\r\n    return 'é'\r\n\r\ndef g():\r\n    pass\r\n", id="crlf"
    ),
    pytest.param("import x\r\rdef f():\r    return 1\rdef g():\r    pass\r", id="lone cr"),
    pytest.param(
        "x = 1  # \x0c form feed and \u2028 line separator\n\ndef f():\n    return '\x0c'\n"
        "y = '\\\n'\ndef g():\n    pass\n",
        id="characters str.splitlines breaks at",
    ),
    pytest.param(
        "if True:\n    def f():\n        pass\nelse:\n    pass\n\n\n\n\ndef g():\n\tpass\n",
        id="tab indent, compound statements",
    ),
]


@pytest.mark.parametrize("source", SOURCES)
def test_statement_positions_are_position_providers(source: str) -> None:
    module = cst.parse_module(source)
    everything = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    for chosen in [module.body, module.body[1::2], module.body[-1:]]:
        positions = statement_positions(module, chosen)
        assert set(positions) == {node for statement in chosen for node in _nodes(statement)}
        assert all(span == everything[node] for node, span in positions.items())


SOURCES_WITH_CALLS = [
    *SOURCES,
    pytest.param(
        "class C:\n    async def m(self):\n        x = (await f(\n  a, g(b)))[0].h(  # c\n"
        "        )\n        return [y(z) for z in 'é' + w()]\n",
        id="calls nested in calls, parentheses, continuation lines, non-ASCII",
    ),
]


@pytest.mark.parametrize("source", SOURCES_WITH_CALLS)
def test_node_positions_are_position_providers(source: str) -> None:
    module = cst.parse_module(source)
    everything = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    nodes = [node for statement in module.body for node in _nodes(statement)]
    calls = [node for node in nodes if isinstance(node, cst.Call)]
    for chosen in [nodes, nodes[::3], nodes[-1:], calls, module.body]:
        positions, code = node_positions(module, chosen)
        assert code == module.code
        assert positions == {node: everything[node] for node in chosen}


def test_statement_positions_of_nothing() -> None:
    module = cst.parse_module("def f():\n    pass\n")
    assert statement_positions(module, []) == {}


def _nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    found = [node]
    for child in node.children:
        found.extend(_nodes(child))
    return found
