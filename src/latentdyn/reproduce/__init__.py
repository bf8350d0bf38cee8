"""One module per reproduced study; each offers a plain ``run(...)`` and a click ``command``."""
