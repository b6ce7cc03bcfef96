"""STYLE rule 1, measured: the two short reads along one run's call path.

One run (intermediate mnli → target xnli → eval xnli) goes through the public command line in-process on the
tiny demo model and data, under sys.setprofile. Every project function called is mapped to its top-level def
or class in the file's ast (a method touches its whole class; a nested function its enclosing def; a dataclass
touches its class when it is built). A path's lines, per touched file: the touched defs and classes (decorators
included) + the module docstring + the module-level statements that are not imports or defs (constants, the
route chosen at import). Files are sorted into the experiment read, the operations read, or support (touched,
reported, not budgeted). Run: pytest -s tests/test_reading_path.py (prints the per-file table).
"""
import ast
import inspect
import sys
import threading
from pathlib import Path

import pytest

import xstilts

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = ("model/xlmr.py", "xkernels/attention.py", "tasks/mnli.py", "tasks/xnli.py", "tasks/lib/batching.py",
              "tasks/lib/heads.py", "chain/train.py", "chain/config.py")
OPERATIONS = ("chain/checkpoint.py", "chain/rundir.py", "chain/stage.py", "chain/plan.py", "chain/dist.py", "util.py")
EXPERIMENT_LINES = 900  # STYLE rule 1: the experiment reads in ≤ 900 lines along one run's call path
EXPERIMENT_FILES = 8  # STYLE rule 1: ... across ≤ 8 files
OPERATIONS_LINES = 900  # STYLE rule 1: run folders, checkpoints, locks, plan, preflight: a separate ≤ 900-line read
COMPREHENSIONS = ("<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>")  # module-level ones run at import
FIT_LINES = 100  # STYLE rule 2: the loop, chain/train.py:fit, is ≤ 100 straight lines


def top_level(rel):
    """(name, first line incl. decorators, last line) of each top-level def/class, and the module's setup lines."""
    tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
    defs, setup = [], 0
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            defs.append((node.name, start, node.end_lineno))
        elif not isinstance(node, (ast.Import, ast.ImportFrom)) and not (
                isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)):
            setup += node.end_lineno - node.lineno + 1  # the docstring, constants, an import-time route choice
    return defs, setup


def project_file(filename):
    """The file's path relative to the repo root, or None for code that is not the project's (tests included)."""
    try:
        rel = Path(filename).resolve().relative_to(ROOT)
    except ValueError:
        return None
    return None if rel.parts[0] in ("tests", ".venv") or rel.suffix != ".py" else str(rel)


def trace(run):
    """Call run() under a profiler; return {file: set of touched top-level names} (a name None: module-level code)."""
    codes, built = set(), set()

    on = [True]  # threads started during the run (tqdm's monitor) keep the hook: it stops recording with the run

    def hook(frame, event, arg):
        if not on[0] or event != "call" or frame.f_code in codes:
            return
        code = frame.f_code
        codes.add(code)
        if code.co_name in ("__init__", "__new__") and not code.co_filename.endswith(".py") and code.co_argcount:
            first = frame.f_locals.get(code.co_varnames[0])  # a dataclass's generated __init__: its class was built
            built.add(first if isinstance(first, type) else type(first))
    built.discard(type(None))

    threading.setprofile(hook)
    sys.setprofile(hook)
    try:
        run()
    finally:
        on[0] = False
        sys.setprofile(None)
        threading.setprofile(None)
    touched, spans = {}, {}
    for code in list(codes):
        rel = project_file(code.co_filename)
        if rel is None or not code.co_flags & inspect.CO_OPTIMIZED:  # module and class bodies run at import
            continue
        if rel not in spans:
            spans[rel] = top_level(rel)[0]
        name = next((n for n, a, b in spans[rel] if a <= code.co_firstlineno <= b), None)
        if name is None and code.co_name in COMPREHENSIONS:
            continue  # a module-level comprehension runs at import: whether it is seen depends on import order
        touched.setdefault(rel, set()).add(name)
    for cls in built:
        rel = project_file(getattr(sys.modules.get(cls.__module__), "__file__", None) or "/")
        if rel:
            touched.setdefault(rel, set()).add(cls.__qualname__.split(".")[0])
    return touched


def measure(touched):
    """Per file: (read, touched def names, lines) and the table a human reads."""
    rows = []
    for rel, names in sorted(touched.items()):
        defs, setup = top_level(rel)
        size = setup + sum(b - a + 1 for n, a, b in defs if n in names)
        read = "experiment" if rel in EXPERIMENT else "operations" if rel in OPERATIONS else "support"
        rows.append((read, rel, sorted(n for n in names if n), size))
    rows.sort(key=lambda r: (("experiment", "operations", "support").index(r[0]), r[1]))
    table = [f"{'read':<11} {'file':<26} {'lines':>5}  touched defs"]
    for read, rel, names, size in rows:
        table.append(f"{read:<11} {rel:<26} {size:>5}  {', '.join(names)}")
    for read in ("experiment", "operations", "support"):
        mine = [r for r in rows if r[0] == read]
        table.append(f"{read:<11} {f'{len(mine)} files':<26} {sum(r[3] for r in mine):>5}  (total)")
    return rows, "\n".join(table)


@pytest.fixture(scope="module")
def path(demo_root, tmp_path_factory):
    """One run's three commands, traced: the measured reading path."""
    runs = tmp_path_factory.mktemp("reading-path")
    common = ["--data-dir", str(demo_root / "data"), "--runs-dir", str(runs), "--dtype", "fp32"]
    small = ["--batch-size", "16", "--max-len", "64", "--max-steps", "2", "--eval-examples", "8", "--log-every", "1"]

    def one_run():
        assert xstilts.main(["intermediate", "--task", "mnli", "--model", str(demo_root / "model"), *common, *small,
                             "--name", "inter"]) == 0
        assert xstilts.main(["target", "--task", "xnli", "--init", str(runs / "inter"), *common, *small,
                             "--name", "tgt"]) == 0
        assert xstilts.main(["eval", "--target", "xnli", "--init", str(runs / "tgt"), *common, "--langs", "en,de",
                             "--name", "ev"]) == 0
        assert (runs / "ev" / "results.json").is_file()

    rows, table = measure(trace(one_run))
    print("\n" + table)
    return rows, table


def test_the_experiment_reads_in_at_most_900_lines_across_at_most_8_files(path):
    rows, table = path
    mine = [r for r in rows if r[0] == "experiment"]
    assert {"model/xlmr.py", "chain/train.py", "tasks/xnli.py"} <= {r[1] for r in mine}, table  # the trace saw the run
    lines, files = sum(r[3] for r in mine), len(mine)
    assert lines <= EXPERIMENT_LINES and files <= EXPERIMENT_FILES, (
        f"the experiment's read: {lines} lines (budget {EXPERIMENT_LINES}) in {files} files "
        f"(budget {EXPERIMENT_FILES})\n{table}")


def test_the_operations_read_in_at_most_900_lines(path):
    rows, table = path
    lines = sum(r[3] for r in rows if r[0] == "operations")
    assert lines <= OPERATIONS_LINES, f"the operations' read: {lines} lines (budget {OPERATIONS_LINES})\n{table}"


def test_the_loop_is_at_most_100_lines():
    fit = [n for n in ast.parse((ROOT / "chain" / "train.py").read_text(encoding="utf-8")).body
           if isinstance(n, ast.FunctionDef) and n.name == "fit"]
    if not fit:
        pytest.skip("chain/train.py has no fit")
    size = fit[0].end_lineno - fit[0].lineno + 1
    assert size <= FIT_LINES, f"chain/train.py:fit is {size} lines (lines {fit[0].lineno}-{fit[0].end_lineno}); " \
                              f"the loop is ≤ {FIT_LINES} straight lines"


def test_the_measure_on_a_module_of_known_size(tmp_path, monkeypatch):
    """A known answer for the tracer and the counter: a module whose touched lines are counted by hand."""
    src = ('"""Doc."""\nimport os\nX = os.sep\n\n\ndef used():\n    return helper()\n\n\ndef helper():\n'
           '    return X\n\n\ndef unused():\n    return 0\n\n\nclass Box:\n    def get(self):\n        return 1\n')
    (tmp_path / "known.py").write_text(src, encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    import known

    def run():
        known.used()
        known.Box().get()
    touched = trace(run)
    assert touched == {"known.py": {"used", "helper", "Box"}}
    rows, _ = measure(touched)
    # docstring 1 + `X = ...` 1 (imports are not counted) + used 2 + helper 2 + Box 3 = 9; unused is not read
    assert rows == [("support", "known.py", ["Box", "helper", "used"], 9)]
