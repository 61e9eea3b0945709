"""A document as Apollo Client sends it, so persisted-query ids match the ones Apollo computes.

Apollo Client's persisted-queries link hashes ``print(document)`` after its cache has run
``addTypenameToDocument``; Apollo's ``generate-persisted-query-manifest`` hashes the same after
``sortTopLevelDefinitions`` (operations first, then fragments, each by name). ``print`` is graphql-js
16's (the generator's peer range is graphql 14 to 16): graphql-core's ``print_ast`` follows graphql-js
17 instead and writes ``{ a: 1 }`` and long lists on several lines where 16 writes ``{a: 1}`` and
one line, so this module has its own printer of executable documents, byte for byte graphql-js 16's.
``print_document(document, js17=True)`` is graphql-js 17's text (graphql-core's ``print_ast``), the
one a client with graphql 17 hashes (but for arguments holding characters beyond U+FFFF near the
80-column wrap: graphql-core counts them once, JavaScript twice; such a client sends its text once).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    EnumValueNode,
    ExecutableDefinitionNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSyntaxError,
    InlineFragmentNode,
    IntValueNode,
    ListTypeNode,
    ListValueNode,
    NamedTypeNode,
    NameNode,
    Node,
    NonNullTypeNode,
    NullValueNode,
    ObjectFieldNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableDefinitionNode,
    VariableNode,
    parse,
    print_ast,
    visit,
)
from graphql.language import Visitor
from graphql.language.block_string import print_block_string
from graphql.language.print_string import print_string

MAX_LINE_LENGTH = 80  # graphql-js wraps a field's arguments beyond it


def add_typename(document: DocumentNode) -> DocumentNode:
    """Apollo Client's ``addTypenameToDocument``: ``__typename`` ends every selection set.

    As in @apollo/client's utilities/graphql/transform.ts: not an operation's root selection set
    (a fragment's is not a root), not one that already selects ``__typename`` or another ``__``
    field (introspection), not the selections of a field marked ``@export``.
    """

    class AddTypename(Visitor):
        def enter_selection_set(
            self, node: SelectionSetNode, _key: Any, parent: Any, *_: Any
        ) -> SelectionSetNode | None:
            if isinstance(parent, OperationDefinitionNode):
                return None
            if any(
                isinstance(s, FieldNode) and s.name.value.startswith("__") for s in node.selections
            ):
                return None
            if isinstance(parent, FieldNode) and any(
                d.name.value == "export" for d in parent.directives or ()
            ):
                return None
            typename = FieldNode(name=NameNode(value="__typename"), arguments=(), directives=())
            return SelectionSetNode(selections=(*node.selections, typename))

    transformed: DocumentNode = visit(document, AddTypename())
    return transformed


def sort_definitions(document: DocumentNode) -> DocumentNode:
    """@apollo/persisted-query-lists ``sortTopLevelDefinitions``: operations, then fragments, by name."""
    ordered = sorted(
        document.definitions,
        key=lambda d: (
            0 if isinstance(d, OperationDefinitionNode) else 1,
            d.name.value if isinstance(d, ExecutableDefinitionNode) and d.name else "",
        ),
    )
    return DocumentNode(definitions=tuple(ordered))


def _length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2  # a JavaScript string's length


def _join(parts: Iterable[str], separator: str = "") -> str:
    return separator.join(part for part in parts if part)


def _wrap(start: str, text: str, end: str = "") -> str:
    return f"{start}{text}{end}" if text else ""


def _block(items: Iterable[str]) -> str:
    inner = _join(items, "\n")
    return _wrap("{\n", _wrap("  ", inner.replace("\n", "\n  ")), "\n}")


def _print(node: Node | None) -> str:
    """graphql-js 16 ``print`` of an executable document or any node of one."""
    if node is None:
        return ""
    printer = _PRINTERS.get(type(node))
    if printer is None:
        raise ValueError(f"Only executable documents print here, not {type(node).__name__}.")
    return printer(node)


def _all(nodes: Iterable[Node] | None, separator: str) -> str:
    return _join((_print(n) for n in nodes or ()), separator)


def _operation(node: OperationDefinitionNode) -> str:
    variables = _wrap("(", _all(node.variable_definitions, ", "), ")")
    operation = node.operation.value
    prefix = _join(
        [operation, _join([_print(node.name), variables]), _all(node.directives, " ")], " "
    )
    head = "" if prefix == "query" else prefix + " "
    return head + _print(node.selection_set)


def _field(node: FieldNode) -> str:
    prefix = _wrap("", _print(node.alias), ": ") + _print(node.name)
    arguments = [_print(a) for a in node.arguments or ()]
    line = prefix + _wrap("(", _join(arguments, ", "), ")")
    if _length(line) > MAX_LINE_LENGTH:
        inner = _join(arguments, "\n")
        line = prefix + _wrap("(\n", _wrap("  ", inner.replace("\n", "\n  ")), "\n)")
    return _join([line, _all(node.directives, " "), _print(node.selection_set)], " ")


def _fragment(node: FragmentDefinitionNode) -> str:
    variables = _wrap("(", _all(node.variable_definitions, ", "), ")")
    return (
        f"fragment {_print(node.name)}{variables} on {_print(node.type_condition)} "
        f"{_wrap('', _all(node.directives, ' '), ' ')}{_print(node.selection_set)}"
    )


def _string(node: StringValueNode) -> str:
    return print_block_string(node.value) if node.block else print_string(node.value)


_PRINTERS: dict[type[Node], Callable[[Any], str]] = {
    DocumentNode: lambda n: _all(n.definitions, "\n\n"),
    OperationDefinitionNode: _operation,
    FragmentDefinitionNode: _fragment,
    VariableDefinitionNode: lambda n: (
        f"{_print(n.variable)}: {_print(n.type)}{_wrap(' = ', _print(n.default_value))}"
        f"{_wrap(' ', _all(n.directives, ' '))}"
    ),
    SelectionSetNode: lambda n: _block(_print(s) for s in n.selections),
    FieldNode: _field,
    ArgumentNode: lambda n: f"{_print(n.name)}: {_print(n.value)}",
    FragmentSpreadNode: lambda n: "..." + _print(n.name) + _wrap(" ", _all(n.directives, " ")),
    InlineFragmentNode: lambda n: _join(
        [
            "...",
            _wrap("on ", _print(n.type_condition)),
            _all(n.directives, " "),
            _print(n.selection_set),
        ],
        " ",
    ),
    NameNode: lambda n: str(n.value),
    VariableNode: lambda n: "$" + _print(n.name),
    IntValueNode: lambda n: str(n.value),
    FloatValueNode: lambda n: str(n.value),
    StringValueNode: _string,
    BooleanValueNode: lambda n: "true" if n.value else "false",
    NullValueNode: lambda _: "null",
    EnumValueNode: lambda n: str(n.value),
    ListValueNode: lambda n: "[" + _all(n.values, ", ") + "]",
    ObjectValueNode: lambda n: "{" + _all(n.fields, ", ") + "}",
    ObjectFieldNode: lambda n: f"{_print(n.name)}: {_print(n.value)}",
    DirectiveNode: lambda n: "@" + _print(n.name) + _wrap("(", _all(n.arguments, ", "), ")"),
    NamedTypeNode: lambda n: _print(n.name),
    ListTypeNode: lambda n: "[" + _print(n.type) + "]",
    NonNullTypeNode: lambda n: _print(n.type) + "!",
}


def print_document(document: DocumentNode, js17: bool = False) -> str:
    """graphql-js 16's ``print`` of an executable document (17's with ``js17``)."""
    return print_ast(document) if js17 else _print(document)


def apollo_print(definitions: Iterable[ExecutableDefinitionNode], js17: bool = False) -> str:
    """The text whose sha256 is an operation's id in the manifest Apollo's generator writes."""
    document = DocumentNode(definitions=tuple(definitions))
    return print_document(sort_definitions(add_typename(document)), js17)


def apollo_bodies(text: str, max_tokens: int | None = 20_000) -> tuple[str, ...]:
    """``text`` as Apollo prints it, by graphql-js 16 and 17; () unless it is one operation.

    The bodies a manifest operation is known by besides its own: a client sending this operation
    through Apollo Client's persisted-queries link hashes one of them (when it wrote the operation
    before its fragments, and the fragments by name).
    """
    try:
        document = parse(text, no_location=True, max_tokens=max_tokens)
    except GraphQLSyntaxError:
        return ()
    definitions = [d for d in document.definitions if isinstance(d, ExecutableDefinitionNode)]
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or len(definitions) != len(document.definitions):
        return ()
    return tuple(dict.fromkeys(apollo_print(definitions, js17) for js17 in (False, True)))
