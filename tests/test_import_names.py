"""The project's top-level import names shadow nothing a user of this field has installed beside it.

xstilts runs from its repository root, so `model`, `tasks`, `chain`, ... sit first on sys.path. Its attention
layer was once called `kernels/`: transformers >= 5.25 imports Hugging Face's `kernels` package, found ours
instead, and every parity test broke (issue 18). The layer is now `xkernels/`. These tests fail if any
top-level name of the project is also installed by a distribution in this environment (the dev pins bring
transformers, Hugging Face's kernels, scipy, scikit-learn, matplotlib, lang2vec), and run a notebook's session
— transformers imported first, then xstilts, in one process — with a forward pass and the parity check.
"""
import importlib.metadata
import importlib.util
import json
import subprocess
import sys

import pytest
from conftest import ROOT, TINY

PROJECT_NAMES = sorted({p.stem for p in ROOT.glob("*.py")} | {p.parent.name for p in ROOT.glob("*/__init__.py")})


def test_the_project_names_are_what_this_test_checks():
    assert {"xstilts", "model", "xkernels", "tasks", "chain", "studies", "data_scripts"} <= set(PROJECT_NAMES)
    assert "kernels" not in PROJECT_NAMES  # Hugging Face's: transformers imports it


def test_no_project_name_is_installed_by_a_distribution():
    installed = importlib.metadata.packages_distributions()  # top-level import name -> distributions
    clash = {n: installed[n] for n in PROJECT_NAMES if n in installed}
    assert not clash, f"these top-level names of the project shadow installed packages: {clash}"


def test_hugging_face_kernels_is_installed_so_the_clash_is_tested():
    spec = importlib.util.find_spec("kernels")
    assert spec is not None, "requirements-dev.txt pins Hugging Face's kernels: reinstall with make test"
    assert "site-packages" in spec.origin, f"`kernels` resolves to {spec.origin}, not Hugging Face's package"


NOTEBOOK = """
import json, sys, tempfile
import torch
import transformers                                   # first, as a notebook comparing the two would
from transformers import XLMRobertaConfig, XLMRobertaModel
import kernels                                        # Hugging Face's: transformers >= 5.25 imports it
from xkernels import attention                        # ours
from model.load import load_model
torch.manual_seed(0)
hf = XLMRobertaModel(XLMRobertaConfig(**json.loads(sys.argv[1]), attn_implementation="sdpa")).eval()
with tempfile.TemporaryDirectory() as d:
    hf.save_pretrained(d)
    ours = load_model(d).eval()
ids = torch.randint(5, 1000, (3, 17))
mask = torch.ones_like(ids)
mask[1, 9:] = 0
ids[1, 9:] = 1
with torch.no_grad():
    ref = hf(input_ids=ids, attention_mask=mask).last_hidden_state
    out = ours(ids, mask)
print(json.dumps(dict(err=(ref - out)[mask.bool()].abs().max().item(), kernels=kernels.__file__,
                      xkernels=attention.__file__, transformers=transformers.__version__)))
"""


@pytest.mark.parametrize("first", ["transformers", "xstilts"])
def test_transformers_and_xstilts_in_one_process(first):
    """From the repository root (sys.path[0] = ''), in either import order: a forward pass of each on the
    same weights, equal to 1e-5, and each `kernels` name is the package its importer meant."""
    code = NOTEBOOK if first == "transformers" else "import model.xlmr, xkernels.attention\n" + NOTEBOOK
    out = subprocess.run([sys.executable, "-c", code, json.dumps(TINY)], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["err"] < 1e-5, got
    assert "site-packages" in got["kernels"] and not got["kernels"].startswith(str(ROOT / "kernels")), got
    assert got["xkernels"].startswith(str(ROOT)), got


def test_make_study_installs_the_pinned_plot_and_statistics_packages():
    """`make study` / `make demo-study` install matplotlib and scipy as requirements-dev.txt pins them: the
    recipe's shell command yields exactly those specifiers (a comment after a pin once reached pip as '#')."""
    makefile = (ROOT / "Makefile").read_text().splitlines()
    recipe = next(line for line in makefile if "pip install" in line and "scipy" in line)
    command = recipe[recipe.index("$$(") + 3:recipe.rindex(")")].replace("$$", "$")
    words = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True).stdout.split()
    pins = {line.split()[0] for line in (ROOT / "requirements-dev.txt").read_text().splitlines() if "==" in line}
    assert sorted(w.split("==")[0] for w in words) == ["matplotlib", "scipy"] and set(words) <= pins, words
