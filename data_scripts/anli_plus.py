"""ANLI+ = SNLI + MNLI + ANLI: fetches all three.  python -m data_scripts.anli_plus"""
import sys

from data_scripts import anli, mnli, snli
from data_scripts.download import run

if __name__ == "__main__":
    run("snli", snli.SOURCES, doc=__doc__)
    mnli.main(sys.argv[1:])
    run("anli", anli.SOURCES, doc=__doc__)
