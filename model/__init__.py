"""The encoder package: XLM-R (xlmr.py), its weights (load.py) and its tokenizer (tokenizer.py)."""
