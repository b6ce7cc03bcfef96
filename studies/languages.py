"""The languages of the XTREME / XTREME-R targets as data: studies/languages.tsv (ISO 639-3 code, WALS family
and genus, script, Joshi et al. 2020 resource class, URIEL distances to English; its header cites each source
and the code chosen for each macrolanguage). Reading it needs nothing; python -m studies.make_languages
(with lang2vec) regenerates it.

    from studies import languages
    languages.table()["sw"]["dist_syntax"]   # 0.5262: 1 - cos(URIEL syntax_knn of swh, of eng)
    languages.resource_group("sw")           # "low" (Joshi classes 0-2) or "high" (3-5)
    languages.check(["sw", "xx"])            # UserError naming xx
    languages.grouping("script")["of"]["hi"]  # "Devanagari": a study's `groups:` (or --group-by) resolved
"""
import functools
from pathlib import Path

from util import UserError

TSV = Path(__file__).with_name("languages.tsv")
FEATURES = ("dist_syntax", "dist_phonology", "dist_inventory", "dist_genetic", "dist_geographic")
LOW = (0, 1, 2)  # Joshi et al. 2020: left-behinds, scraping-bys, hopefuls; 3-5 are rising stars, underdogs, winners
COLUMNS = ("resource", "family", "genus", "script", "joshi_class")  # a report can group by: resource = LOW or not


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


def grouping(spec, by=None, where="groups"):
    """A study's `groups:` (spec) or --group-by (by), checked → {name, of: {lang: group}, order, asked}.
    spec: None (the resource class), a column of COLUMNS (one group per value), or named groupings
    {name: {group: [langs]}} — the report uses the first; by: a column or one of those names, instead."""
    example = "e.g. groups: script, or groups: {europe: {european: [de, fr], non-european: [ar, zh]}}"
    if spec is not None and not (isinstance(spec, str) and spec in COLUMNS or isinstance(spec, dict) and spec):
        raise UserError(f"{where}: groups {spec!r} is neither a column of {TSV.name} ({', '.join(COLUMNS)}) nor a "
                        f"mapping of named groupings; {example}.")
    named = spec if isinstance(spec, dict) else {}
    for name, groups in named.items():
        if not isinstance(groups, dict) or len(groups) < 2 or not all(isinstance(v, list) for v in groups.values()):
            raise UserError(f"{where}: groups.{name} must map two or more group names to lists of languages; {example}.")
        seen = {}
        for group, langs in groups.items():
            unknown = [x for x in langs if x not in table()]
            if unknown or str(group) == "all":
                raise UserError(f"{where}: groups.{name}.{group}: " + (f"{TSV.name} has no language {unknown[0]!r}; "
                                f"use its codes ({' '.join(sorted(table()))})." if unknown else
                                "`all` names every zero-shot language already; call the group something else."))
            for x in langs:
                if seen.setdefault(x, group) != group:
                    raise UserError(f"{where}: groups.{name}: {x} is in both {seen[x]} and {group}; put it in one.")
    choice = by if by is not None else next(iter(named), spec or "resource")
    if choice in named:
        of = {x: str(group) for group, langs in named[choice].items() for x in langs}
        return dict(name=choice, of=of, order=[str(g) for g in named[choice]], asked=True)
    if choice not in COLUMNS:
        raise UserError(f"--group-by {choice}: not a column of {TSV.name} ({', '.join(COLUMNS)}) nor a grouping in "
                        f"{where}'s groups ({', '.join(named) or 'none'}).")
    of = {x: resource_group(x) if choice == "resource" else str(row[choice]) for x, row in table().items()}
    order = ["low", "high"] if choice == "resource" else sorted(set(of.values()))
    return dict(name=choice, of=of, order=order, asked=spec is not None or by is not None)
