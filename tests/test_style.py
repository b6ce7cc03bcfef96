"""The reading codebase stays small (STYLE rule 1): per-file line budgets, a docstring atop every file,
and the README's reading list quoting true line counts. Raising a budget is a decision: say why here."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET = {  # lines, ~10% above each file's size at the re-cut (issue 20); history in git, one reason each
    # the core: the two reads of STYLE rule 1 (tests/test_reading_path.py measures them) and what supports them
    "util.py": 95,  # the ground floor: UserError, atomic writes, the rank helpers every layer uses
    "xstilts.py": 400,  # parsers and dispatch for eleven subcommands; help from Config comments and task defaults
    "model/__init__.py": 10,  # the package's docstring
    "model/xlmr.py": 160,  # the encoder: config, embeddings, post-LN blocks, MLM head, one forward, three routes
    "model/load.py": 240,  # the literal name map, hub/cache resolution, config.json's checks, strict load, atomic save
    "model/spm.py": 100,  # issue 21: sentencepiece.bpe.model → a tokenizer.json, and the protobuf reader it needs
    "model/tokenizer.py": 120,  # tokenizers as transformers' XLM-R tokenizer; long lines cut first (bounded memory)
    "xkernels/attention.py": 125,  # the plain-math reference, SDPA, varlen (torch's, FlashAttention), pack/unpack
    "tasks/__init__.py": 70,  # the task contract: every name, its default and its reader; the one accessor
    "tasks/lib/reading.py": 130,  # every data file through one reader (BOM, UTF-8, empty, JSON) and the bad-row rule
    "tasks/lib/batching.py": 75,  # collate with shape buckets, micro-batches as a pure function of (seed, epoch)
    "tasks/lib/retrieval.py": 80,  # sentence vectors, chunked cosine search, embedding sharded over ranks
    "tasks/lib/heads.py": 165,  # five heads and the dual encoder's; fresh heads initialised as transformers does
    "tasks/lib/qa.py": 160,  # QA windows, labels and n-best decoding on the reference and offsets routes
    "tasks/lib/scoring.py": 160,  # the one scoring path: loop, eval, score, compare; per example where it can be
    "tasks/lib/metrics.py": 160,  # SQuAD, MLQA, seqeval chunk F1, mAP@20, macro-F1, each checked against its reference
    "tasks/lib/submission.py": 270,  # XTREME's submission layout, its suites' tables and the official scorer
    "chain/config.py": 225,  # every knob in one block, its ranges, the layered resolve, YAML with keys given once
    "chain/train.py": 365,  # fit and the named steps it calls, predict, the schedule and the multi-task sampling
    "chain/checkpoint.py": 250,  # checkpoints without pickles, verified (CRC-32, trainer.json) before resume; export
    "chain/rundir.py": 185,  # run folders: open, lock, same-config check, result files, suite averages, provenance
    "chain/stage.py": 165,  # one stage trained or evaluated; the device, the encoder, the head, the model's limits
    "chain/plan.py": 350,  # stages in hashed directories, shared and reused; waves; the preflight; execute; run_chain
    "chain/dist.py": 60,  # torchrun: the process group and the summed gradients
    # tools, not core
    "bench/bench.py": 390,  # CUDA-event timing, shape buckets, compile, and the whole loop against transformers' Trainer
    "bench/bench_retrieval.py": 70,  # retrieval memory at XTREME-R pool sizes
    "tasks/lareqa.py": 160,  # a task file, with XTREME-R's dual-encoder recipe: SQuAD pairs, sentence breaks
    "studies/sweep.py": 500,  # study YAML checks, the grid as one plan, the tidy table, dry run and --plan
    # (issue 21: + cells left out for licensed data, dev scores, the model column, the groups key)
    "studies/compare.py": 205,  # finished runs side by side; intervals over seeds and examples (scoring's per example)
    # (issue 21: + each system's encoder, and a note for the cells a sweep left out)
    "studies/stats.py": 435,  # t / Welch / chi-square intervals, Holm, least squares, power, bootstrap, permutation
    "studies/languages.py": 100,  # ISO codes, family, script, resource class, URIEL distances; language groupings
    # (issue 21: a study's `groups:` / --group-by resolved and checked in one place, for sweep and report)
    "studies/tokens.py": 70,  # tokens per training example on the real slices: the dry run's GPU-hour estimate
    "studies/make_languages.py": 225,  # mostly the curated language table with its sources
    "studies/report.py": 1100,  # one report per study type: the Answer, a test per claim (Holm), tables, provenance;
    # 980 until issue 21 (the encoders section and per-encoder baselines, the language groups, the xstilts hooks)
    "studies/plots.py": 200,  # the figures, from report.json's numbers (issue 21: + groups, encoders, the paper)
    "studies/paper.py": 285,  # the xstilts study: selection on dev, the submission, against the published rows
    "studies/synthetic.py": 115,  # planted truths in sweep's formats: every report section tested against them
    # (issue 21: + a planted group effect, dev scores for the xstilts selection)
}
NOT_CORE = ("bench/", "studies/", "tasks/lareqa.py")
TASK_FILE = 120  # each tasks/<name>.py (STYLE: task files of 50-120 lines); not core
CORE_TOTAL = 3800  # measured 3,608 at the re-cut (issue 20), 3,700 after issue 21 (+ model/spm.py: checkpoints with
# only a sentencepiece.bpe.model), against STYLE's 2,000: NOT met. What a reader follows
# is within its budget (tests/test_reading_path.py: the experiment ~780 lines in 8 files, the operations ~560); the
# rest is what a user was promised and each has tests: the official XTREME scorer and metrics (~390), QA's two
# decoding routes (~140), checkpoints verified before a resume (~220), eleven subcommands' parsers (~360), every
# data file's and config's checks. Getting to 2,000 means dropping some of these, a decision for the project.


def lines(rel):
    return len((ROOT / rel).read_text(encoding="utf-8").splitlines())


def test_every_source_file_has_a_budget_and_keeps_it():
    from tasks import task_names
    tasks = {f"tasks/{t}.py" for t in task_names()}
    folders = ("model", "xkernels", "bench", "tasks", "tasks/lib", "chain", "studies")
    sources = {str(p.relative_to(ROOT)) for d in folders for p in (ROOT / d).glob("*.py")
               if p.name != "__init__.py" or p.stat().st_size} | {"xstilts.py", "util.py"}
    assert sources - tasks <= set(BUDGET), f"give these a budget: {sorted(sources - tasks - set(BUDGET))}"
    over = {f: (lines(f), b) for f, b in {**dict.fromkeys(tasks, TASK_FILE), **BUDGET}.items()
            if (ROOT / f).exists() and lines(f) > b}
    assert not over, f"over budget (lines, budget): {over}"
    core = sum(lines(f) for f in BUDGET if not f.startswith(NOT_CORE) and f not in tasks and (ROOT / f).exists())
    assert core <= CORE_TOTAL


def test_every_python_file_opens_with_a_docstring():
    for p in [*ROOT.glob("*.py"), *ROOT.glob("model/*.py"), *ROOT.glob("xkernels/*.py"), *ROOT.glob("bench/*.py"), *ROOT.glob("tasks/*.py"), *ROOT.glob("tasks/lib/*.py"), *ROOT.glob("chain/*.py"),
              *ROOT.glob("studies/*.py"),
              *ROOT.glob("data_scripts/*.py"), *ROOT.glob("tests/*.py")]:
        if p.stat().st_size:
            assert ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))), f"{p} has no docstring"


ENTRY = re.compile(r"((?:`[\w/.-]+`\s*\+\s*)*`[\w/.-]+`)\s*\(~?([\d,]+) lines\b")  # `a.py` (+ `b.py`) (N lines
HOMES = ("", "tasks/lib/", "model/", "chain/", "xkernels/", "tasks/")  # where a bare name in the README may live


def counted(name):
    """The lines of a README entry: a file (bare names tried in HOMES) or a folder's .py files; None if unfound."""
    for home in HOMES:
        p = ROOT / home / name
        if name.endswith("/") and p.is_dir() and any(p.glob("*.py")):
            return sum(lines(f.relative_to(ROOT)) for f in p.glob("*.py"))
        if not name.endswith("/") and p.is_file():
            return lines(p.relative_to(ROOT))
    return None


def test_readme_reading_list_counts_are_true():
    """Every backticked path followed by a line count, anywhere in README.md: `x.py` (N lines), `x.py` (N lines:
    what it holds), a bare name (tasks/lib's, model's, chain's), `a.py` + `b.py` (N lines), `tasks/lib/` (N lines)."""
    entries = ENTRY.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(entries) >= 10, f"the reading list's entries were not found: {entries}"  # the pattern still matches
    wrong, unfound = [], []
    for names, n in entries:
        names, n = re.findall(r"`([^`]+)`", names), int(n.replace(",", ""))
        sizes = [counted(f) for f in names]
        unfound += [f for f, size in zip(names, sizes) if size is None]
        if None not in sizes and abs(sum(sizes) - n) > max(10, sum(sizes) // 10):
            wrong.append(f"{' + '.join(names)}: README says {n}, it has {sum(sizes)}")
    assert not wrong and not unfound, (f"README counts off by more than max(10, 10%): {wrong}; "
                                       f"README entries with a count that name no file or folder: {unfound}")


def test_the_reading_list_pattern_reads_every_entry_form():
    text = ("`model/xlmr.py` (176 lines) — `heads.py` (293 lines: classify), `a.py` + `b.py`\n   (1,200 lines), "
            "`tasks/lib/` (~700 lines) and `attention.py` (93 lines, fused)")
    assert ENTRY.findall(text) == [("`model/xlmr.py`", "176"), ("`heads.py`", "293"), ("`a.py` + `b.py`", "1,200"),
                                   ("`tasks/lib/`", "700"), ("`attention.py`", "93")]
    assert counted("heads.py") == lines("tasks/lib/heads.py") and counted("nowhere.py") is None
    assert counted("tasks/lib/") == sum(lines(p.relative_to(ROOT)) for p in (ROOT / "tasks/lib").glob("*.py"))


CORE = ("util.py", "xstilts.py", "model/*.py", "xkernels/*.py", "tasks/__init__.py", "tasks/lib/*.py", "chain/*.py")
LINE = 120  # STYLE rule 1: code is never squeezed into one-liners to fit a budget; a line reads without scrolling


def core_files():
    return sorted({p for pattern in CORE for p in ROOT.glob(pattern)})


def test_core_lines_are_at_most_120_characters():
    long = [f"{p.relative_to(ROOT)}:{i} ({len(line)} chars)" for p in core_files()
            for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if len(line) > LINE]
    assert not long, f"{len(long)} core lines over {LINE} characters:\n  " + "\n  ".join(long)


def test_core_has_no_expression_statements_used_for_side_effects():
    """`a, f()` / `c and f()` / `f() if c else None` as statements: an `if` says it (docstrings and calls are fine)."""
    kinds = {ast.Tuple: "tuple", ast.BoolOp: "and/or", ast.IfExp: "x if c else y"}
    found = [f"{p.relative_to(ROOT)}:{line} ({kind})" for p in core_files() for line, kind in sorted(
             (node.lineno, kinds[type(node.value)]) for node in ast.walk(ast.parse(p.read_text(encoding="utf-8")))
             if isinstance(node, ast.Expr) and type(node.value) in kinds)]
    assert not found, f"{len(found)} expression statements used for side effects:\n  " + "\n  ".join(found)
