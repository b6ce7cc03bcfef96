"""No layer imports a layer above it (STYLE rule 2): every import of every project file, read with ast.

Ground → top: util.py (imports nothing of the project) → model/, xkernels/ (a leaf: util only; model may
import it) → tasks/ → chain/ → studies/ → the command line xstilts.py. Imports inside functions count as
much as those at the top, and `importlib.import_module("tasks.x")` counts as an import of tasks. bench/ and
data_scripts/ are tools outside the layering: each has the list of packages it may use.
Run: pytest tests/test_layers.py
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RANK = {"util": 0, "model": 1, "xkernels": 1, "tasks": 2, "chain": 3, "studies": 4, "xstilts": 5}
LEAF = {"xkernels": {"util", "xkernels"}}  # xkernels/attention.py is a leaf that model imports, never the reverse
TOOLS = {  # a tool may import these project packages (and itself)
    "data_scripts": {"util", "tasks", "model", "data_scripts"},  # model: demo.py writes the tiny demo checkpoint
    "bench": {"util", "model", "xkernels", "tasks", "chain", "bench"},  # measures the model, the tasks, the loop
}
SKIP = ("tests", ".venv", ".git")  # tests import everything; the virtual environment is not ours


def project_files():
    return sorted(p for p in ROOT.rglob("*.py") if p.relative_to(ROOT).parts[0] not in SKIP)


def module_of(path):
    """tasks/lib/heads.py -> tasks.lib.heads; chain/__init__.py -> chain."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(dotted):
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def dynamic_name(node, here):
    """The module named by importlib.import_module's first argument, or the literal part of an f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        prefix = ""
        for part in node.values:
            if isinstance(part, ast.Constant):
                prefix += part.value
            elif isinstance(part.value, ast.Name) and part.value.id == "__name__":
                prefix += here
            else:
                break
        return prefix.rstrip(".") or None
    return None


def imports(path):
    """(line, dotted module) for every import in the file: top level, function-local and import_module."""
    here = module_of(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from .x import y
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, *([base] if base else [])])
            for a in node.names:  # `from tasks.lib import heads` imports tasks.lib.heads
                found.append((node.lineno, f"{base}.{a.name}" if is_module(f"{base}.{a.name}") else base))
        elif isinstance(node, ast.Call) and node.args and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (isinstance(node.func, ast.Name) and node.func.id in ("import_module", "__import__"))):
            name = dynamic_name(node.args[0], here)
            if name:
                found.append((node.lineno, name))
    return [(line, m) for line, m in found if m.split(".")[0] in {*RANK, *TOOLS}]


def test_no_module_imports_a_layer_above_its_own():
    offences = []
    for path in project_files():
        rel, top = str(path.relative_to(ROOT)), module_of(path).split(".")[0]
        for line, name in imports(path):
            target = name.split(".")[0]
            if top in TOOLS:
                ok = target in TOOLS[top]
            elif top in RANK:
                ok = target in RANK and RANK[target] <= RANK[top] and target in LEAF.get(top, {target})
            else:
                ok = True  # a file outside every layer and tool (none today)
            if not ok:
                offences.append(f"{rel}:{line} imports {name}")
    assert not offences, "imports of a layer above (or a leaf importing up):\n  " + "\n  ".join(offences)


def test_util_imports_nothing_of_the_project():
    found = [f"util.py:{line} imports {name}" for line, name in imports(ROOT / "util.py")]
    assert not found, "util.py is the ground floor:\n  " + "\n  ".join(found)


def test_the_import_reader_sees_every_form():
    """The reader itself: plain, from, function-local, relative and import_module imports are all found."""
    got = {m for _, m in imports(ROOT / "tasks" / "__init__.py")}
    assert "util" in got and "tasks" in got  # from util import UserError; import_module(f"{__name__}.{name}")
    got = {m for _, m in imports(ROOT / "xstilts.py")}
    assert {"chain.config", "chain.plan", "tasks.lib.submission", "model.tokenizer"} <= got  # function-local too
    assert any(m.startswith("xkernels") for _, m in imports(ROOT / "model" / "xlmr.py"))
