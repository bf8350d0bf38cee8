"""Every study and analysis command of latentdyn, one package each, and their registry.

A study is a package ``latentdyn/studies/<name>/`` exposing a
:class:`~latentdyn.studies.driver.Study` (its ``Params``, ``prepare``, ``stages``,
``claims``, ``report``): docs/architecture.md has the recipe. It becomes a command by
one line in :data:`STUDIES`; the command line, the docs' list of commands, the smoke
digest (``tools/smoke_digest.py``) and the command-line fuzz test are all derived
from this registry.
"""

# the command line after `latentdyn` -> "module:STUDY", imported only when used
STUDIES = {
    "reproduce nagano2017": "latentdyn.studies.nagano2017:STUDY",
    "reproduce nagano2017-sampling": "latentdyn.studies.nagano2017_sampling:STUDY",
    "reproduce serdega2020": "latentdyn.studies.serdega2020:STUDY",
    "reproduce toledo2023": "latentdyn.studies.toledo2023:STUDY",
    "compare denoise": "latentdyn.studies.denoise:STUDY",
    "conditions": "latentdyn.studies.conditions:STUDY",
    "transition": "latentdyn.studies.transition:STUDY",
    "attractors": "latentdyn.studies.attractors:STUDY",
    "dynamics": "latentdyn.studies.dynamics:STUDY",
    "lsd": "latentdyn.studies.lsd:STUDY",
    "mi": "latentdyn.studies.mi:STUDY",
}

# the groups of two-word commands, and their help
GROUPS = {
    "reproduce": "Reproduce a published study: train, run the experiments, and write "
                 "figures, data, a claims scorecard and a self-contained report.html.",
    "compare": "Compare model families on the same inputs.",
}


def study_names(group: str | None = None) -> list[str]:
    """The registered command lines (of one ``group``'s subcommands when given)."""
    if group is None:
        return list(STUDIES)
    return [n for n in STUDIES if n.split()[0] == group and len(n.split()) == 2]


__all__ = ["GROUPS", "STUDIES", "study_names"]
