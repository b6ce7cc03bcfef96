"""The languages of the XTREME / XTREME-R targets as data: studies/languages.tsv (ISO 639-3 code, WALS family
and genus, script, Joshi et al. 2020 resource class, URIEL distances to English; its header cites each source
and the code chosen for each macrolanguage). Reading it needs nothing; python -m studies.make_languages
(with lang2vec) regenerates it.

    from studies import languages
    languages.table()["sw"]["dist_syntax"]   # 0.5262: 1 - cos(URIEL syntax_knn of swh, of eng)
    languages.resource_group("sw")           # "low" (Joshi classes 0-2) or "high" (3-5)
    languages.check(["sw", "xx"])            # UserError naming xx
"""
import functools
from pathlib import Path

from util import UserError

TSV = Path(__file__).with_name("languages.tsv")
FEATURES = ("dist_syntax", "dist_phonology", "dist_inventory", "dist_genetic", "dist_geographic")
LOW = (0, 1, 2)  # Joshi et al. 2020: left-behinds, scraping-bys, hopefuls; 3-5 are rising stars, underdogs, winners


@functools.cache
def table():
    """{lang: {column: value}} with joshi_class an int and the distances floats; read once, shared: don't edit."""
    rows, head = {}, None
    for n, line in enumerate(TSV.read_text(encoding="utf-8").splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        cells = line.split("\t")
        if head is None:
            head = cells
            continue
        try:
            if len(cells) != len(head):
                raise ValueError(f"{len(cells)} cells, the header has {len(head)}")
            row = dict(zip(head, cells))
            row["joshi_class"] = int(row["joshi_class"])
            row.update({f: float(row[f]) for f in FEATURES})
        except (KeyError, ValueError) as e:
            raise UserError(f"{TSV}:{n}: malformed row ({e}); regenerate it with python -m studies.make_languages.")
        rows[row["lang"]] = row
    return rows


def resource_group(lang):
    """"low" for Joshi classes 0-2, "high" for 3-5."""
    check([lang])
    return "low" if table()[lang]["joshi_class"] in LOW else "high"


def check(langs):
    """Stop with one sentence if any of langs has no row."""
    unknown = [lang for lang in langs if lang not in table()]
    if unknown:
        raise UserError(f"{TSV.name} has no language {', '.join(unknown)}; it has {' '.join(sorted(table()))} "
                        f"(add a row to studies/make_languages.py and regenerate).")
