"""ANLI+ = SNLI + MNLI + ANLI: fetches all three.  python -m data_scripts.anli_plus"""
from data_scripts import anli, mnli, snli
from data_scripts.download import run

if __name__ == "__main__":
    for task, script in (("snli", snli), ("mnli", mnli), ("anli", anli)):
        run(task, script.SOURCES, doc=__doc__)
