"""Values reach SQL only as bound parameters: no SQL text in tasks/, dutycycle/ or flows/ is built by an f-string,
`%`, `+` or `.format` (directly, or through a local variable) and then executed; every exception is listed here
with its reason, and a listed exception that no longer exists fails too."""

from __future__ import annotations

import ast

from tasks.shared.settings import PROJECT_ROOT

SCANNED = ("tasks", "dutycycle", "flows")
SQL_CALLS = {"text", "exec_driver_sql", "execute", "executemany", "executescript"}
# (file, the call's source text) -> why it is safe. SQLite's PRAGMA takes no bound parameters; the value is an int.
ALLOWED = {
    ("tasks/shared/storage/session.py", 'cursor.execute(f"PRAGMA busy_timeout={busy_ms}")'):
        "PRAGMA takes no parameters; busy_ms is int() of a number from the settings",
}


def _called(function: ast.expr) -> str | None:
    if isinstance(function, ast.Name):
        return function.id
    return function.attr if isinstance(function, ast.Attribute) else None


def _built(node: ast.expr) -> str | None:
    """How an expression builds a string from pieces, or None when it does not."""
    if isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.FormattedValue) for v in node.values):
        return "an f-string"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return "% formatting"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return "+ concatenation"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return ".format"
    return None


def _scopes(tree: ast.Module) -> list[ast.AST]:
    return [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]


def built_sql(source: str, filename: str) -> list[tuple[int, str, str]]:
    """(line, call source, how) of every SQL call whose first argument is a string built from pieces, or a local
    name assigned such a string in the same function (or module)."""
    tree = ast.parse(source, filename)
    found = []
    for scope in _scopes(tree):
        assigned: dict[str, str] = {}
        nodes = list(ast.walk(scope)) if scope is not tree else list(ast.iter_child_nodes(tree))
        for node in nodes:
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                how = "+= concatenation" if isinstance(node, ast.AugAssign) else _built(node.value)
                for target in targets:
                    if isinstance(target, ast.Name) and how:
                        assigned[target.id] = how
        for node in ast.walk(scope):
            if not (isinstance(node, ast.Call) and _called(node.func) in SQL_CALLS and node.args):
                continue
            first = node.args[0]
            how = _built(first) or (f"{first.id}, assigned {assigned[first.id]}"
                                    if isinstance(first, ast.Name) and first.id in assigned else None)
            if how:
                found.append((node.lineno, ast.get_source_segment(source, node) or "", how))
    return sorted(set(found))


def test_the_detector_finds_each_way_of_building_sql_and_passes_bound_parameters() -> None:
    source = '''
def bad(session, conn, name, table):
    session.execute(text(f"SELECT * FROM runs WHERE partnership = '{name}'"))
    conn.exec_driver_sql("DELETE FROM runs WHERE id = %s" % name)
    session.execute(text("SELECT * FROM " + table))
    conn.execute("SELECT {}".format(name))
    sql = f"SELECT * FROM {table}"
    conn.execute(sql)
    query = "SELECT 1"
    query += name
    conn.execute(query)

def good(session, name):
    session.execute(text("SELECT * FROM runs WHERE partnership = :name"), {"name": name})
    session.execute(text("SELECT 1"))
    statement = select(Run).where(Run.partnership == name)
    session.execute(statement)
'''
    found = built_sql(source, "example.py")
    assert [(line, how) for line, _, how in found] == [
        (3, "an f-string"), (4, "% formatting"), (5, "+ concatenation"), (6, ".format"),
        (8, "sql, assigned an f-string"), (11, "query, assigned += concatenation"),
    ]


def test_no_sql_is_built_from_pieces() -> None:
    found, used = [], set()
    for folder in SCANNED:
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            relative = path.relative_to(PROJECT_ROOT).as_posix()
            for line, call, how in built_sql(path.read_text(encoding="utf-8"), relative):
                if (relative, call) in ALLOWED:
                    used.add((relative, call))
                else:
                    found.append(f"{relative}:{line}: {how}: {call}")
    assert found == [], "SQL built from pieces (pass values as bound parameters):\n" + "\n".join(found)
    assert used == set(ALLOWED), f"allowed exceptions that no longer exist: {sorted(set(ALLOWED) - used)}"
