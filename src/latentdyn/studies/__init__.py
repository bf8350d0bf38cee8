"""The reproduced studies, one package each, and the registry of their commands.

Every study is built on :mod:`latentdyn.studies.study` (profiles, the output guard,
the manifest lifecycle, stage timings); docs/architecture.md has the recipe for a new
one. A study becomes ``latentdyn reproduce NAME`` by one line in :data:`STUDIES`.
"""

# name -> "module:click command", imported only when the command is used
STUDIES = {
    "nagano2017": "latentdyn.studies.nagano2017:command",
    "serdega2020": "latentdyn.studies.serdega2020:command",
    "toledo2023": "latentdyn.studies.toledo2023:command",
    "nagano2017-sampling": "latentdyn.studies.nagano2017_sampling:command",
}
