"""MLQA v1 (official MLQA_V1.zip) → <data-dir>/mlqa/MLQA_V1/test/test-context-{lang}-question-{lang}.json.
python -m data_scripts.mlqa"""
from data_scripts.download import run

SOURCES = [("https://dl.fbaipublicfiles.com/MLQA/MLQA_V1.zip", "MLQA_V1.zip", None,
            {f"MLQA_V1/test/test-context-{lang}-question-{lang}.json": f"MLQA_V1/test/test-context-{lang}-question-{lang}.json"
             for lang in "ar de en es hi vi zh".split()})]

if __name__ == "__main__":
    run("mlqa", SOURCES, doc=__doc__)
