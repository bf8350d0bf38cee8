"""The reproduced studies, one package each, and the registry of their commands.

Every study is built on :mod:`latentdyn.reproduce.study` (profiles, the output guard,
the manifest lifecycle, stage timings); docs/architecture.md has the recipe for a new
one. A study becomes ``latentdyn reproduce NAME`` by one line in :data:`STUDIES`.
"""

# name -> "module:click command", imported only when the command is used
STUDIES = {
    "nagano2017": "latentdyn.reproduce.nagano2017:command",
    "serdega2020": "latentdyn.reproduce.serdega2020:command",
    "toledo2023": "latentdyn.reproduce.toledo2023:command",
    "nagano2017-sampling": "latentdyn.reproduce.nagano2017_sampling:command",
}
