"""The encoder package: XLM-R (xlmr.py), its weights (load.py) and its tokenizer (tokenizer.py)."""


class UserError(ValueError):
    """A problem with what the user gave us (a path, a flag, a file): the CLI prints it as one line."""
