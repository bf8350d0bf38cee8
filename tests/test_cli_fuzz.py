"""A property-based test of the whole command line: every subcommand of ``latentdyn``
through ``latentdyn.cli.main(argv)`` with random option values and random small files.

For every example:

* the exit status is 0 or 2 (1 is the "internal error" of a bug; 130 is for interrupts,
  and nothing here interrupts);
* nothing printed holds a traceback, and an exit status 2 comes with an ``error:`` line;
* the completed toy results made once for this module (:func:`world`: a VAE run, a
  dynamics result and an LSD result inside it, a classifier, a GAN and its encoder run)
  are unchanged, file by file (SHA-256), unless the command was told ``--overwrite`` with
  its output in one of them; new files beside them are allowed, and removed after;
* nothing reaches the network: ``urllib.request.urlopen`` and internet socket connections
  raise, every attempt is recorded, and only ``data download`` (always with
  ``--data-dir`` inside the temporary folder) may attempt one.

Every example runs in a fresh working folder under the module's temporary folder. Option
names are the command's own (read from its click definition, so new options are fuzzed
too), mixed with a few that belong to other commands or to none. Values come from pools
per option (:data:`POOLS`): 0, negatives, huge numbers, ``nan``/``inf`` strings, random
strings, valid and invalid choices, and paths to the corrupt files of :func:`world`
(IDX, npz, JSON/TOML/YAML configs, truncated or garbage safetensors, run folders with
broken ``config.json`` or ``manifest.json``). Options that set how much work is done
(``--epochs``, Adam ``--steps``, ``--fits``, ``--workers``) take toy values only; sizes
that are allocated at once (``--trials``, ``--nz``, ``--batch-size``, ...) also take huge
values, which must be refused with status 2 rather than tried: the test caps the address
space of the process (:data:`MEMORY_CAP`), so an allocation that is attempted fails fast
(and, as an internal error, is reported), and stops any example after
:data:`TIME_LIMIT_S` seconds of CPU time (or :data:`WALL_FACTOR` times as long on the
clock), so a busy machine does not fail an example.

The inputs of issue 21 (:func:`_make_hostile`, tried by every run through the
:data:`HOSTILE` examples and mixed into the pools): a run and a sweep whose npz changed
since they were trained (``@files/run-olddata``, ``@files/sweep-olddata``), folders of
other kinds as ``--out`` (someone's files ``@mine``, a training run killed with -9
``@killedtrain``, a study killed while it ran ``@killedstudy``), an attractors result whose
``figures/`` is a symlink to ``@linked`` (``@attx``), a symlink to a run, JSON, YAML and TOML
nested 100 000 deep (configs, a run's config.json and metadata, ``--attractors``,
``--option``), one NaN in a decoder bias and weights of 1e30, conditions grids listing a
value twice in any spelling, and a small filesystem (``@tiny``: a tmpfs of :data:`TINY`
bytes where the test may mount one, else an ordinary folder). On top of the checks
above (:func:`extra_checks`): a run it must refuse (:data:`BROKEN_RUNS`) is never read
with exit status 0; the messages that used to mislead (:data:`MISLEADING`) never appear;
the `error:` line is the last line; a full disk names its path; a conditions grid with a
repeated value is refused naming its option, with nothing written. The folders of
:data:`OWNED` change only by their own commands.

Placeholders in the examples: ``@NAME`` is the path ``<module tmp>/NAME`` (see
:func:`world` for what lies there; ``@vae`` is the protected VAE run, ``@files/...`` the
corrupt inputs). Deterministic (``derandomize=True``), a fixed ``max_examples`` per
command (:data:`EXAMPLES`), ``deadline=None``, torch on one thread. The known failing
cases are ``@example`` entries of each command's test (:data:`KNOWN`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import click
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from latentdyn.cli import cli, main
from latentdyn.studies import STUDIES
from latentdyn.studies.driver import TOY, TOY10, load_study

TIME_LIMIT_S = {"reproduce": 45, "compare": 45, "conditions": 60,
                "transition": 60}  # by the first word; others: 20
WALL_FACTOR = 10  # the limit on the clock, in multiples of the CPU-time limit
MEMORY_CAP = 6 * 1024**3  # bytes of address space beyond what the process holds at start
HUGE = [2**31, 2**63, 10**30]
DEEP = "[" * 100_000 + "]" * 100_000  # JSON nested 100 000 deep

# --------------------------------------------------------------------------------------
# the commands, read from their click definitions
# --------------------------------------------------------------------------------------


def command(path: tuple[str, ...]) -> click.Command:
    cmd, ctx = cli, click.Context(cli)
    for word in path:
        cmd = cmd.get_command(ctx, word)
        assert cmd is not None, f"latentdyn {' '.join(path)}: no such command"
    return cmd


# the commands that are not studies; every study and analysis command comes from the
# registry latentdyn.studies.STUDIES, with its toy-size example as its BASE below
OTHER_COMMANDS = {
    "data list": ("data", "list"),
    "data info": ("data", "info"),
    "data download": ("data", "download"),
    "train": ("train",),
    "sweep": ("sweep",),
    "classifier train": ("classifier", "train"),
    "classifier eval": ("classifier", "eval"),
    "explore": ("explore",),
}
COMMANDS = {**OTHER_COMMANDS, **{name: tuple(name.split()) for name in STUDIES}}

# options every example of a command starts with (the fuzzed ones come after and, being
# later, win): toy data, toy size, no progress bars, the CPU
BASE = {
    "data download": ["--data-dir", "@data", "--quiet"],
    "train": ["--dataset", TOY, "--epochs", "1", "--nz", "3", "--hidden", "8", "--quiet",
              "--device", "cpu"],
    "sweep": ["--dataset", TOY, "--epochs", "1", "--nz", "2", "--hidden", "8", "--ll-k", "2",
              "--quiet", "--device", "cpu"],
    "classifier train": ["--dataset", TOY, "--epochs", "1", "--batch-size", "8", "--option",
                         "conv1=2", "--option", "conv2=2", "--option", "dense=4", "--quiet",
                         "--device", "cpu"],
    "classifier eval": ["--model", "@clf"],
    # the server is not started (run_example replaces it): what is checked is everything
    # before it, the options and the loading of the runs
    "explore": ["--model", "@vae", "--no-browser", "--port", "0", "--device", "cpu"],
    **{name: list(load_study(target).example) for name, target in STUDIES.items()},
}

# examples per command: the cheap ones more often; a study not named here gets the
# count of its first word (DEFAULT_EXAMPLES)
EXAMPLES = {
    "data list": 8, "data info": 25, "data download": 15, "train": 40, "dynamics": 40,
    "sweep": 20, "classifier train": 20, "classifier eval": 20, "mi": 30, "lsd": 30,
    "compare denoise": 8, "reproduce nagano2017": 6, "reproduce serdega2020": 6,
    "reproduce toledo2023": 6, "reproduce nagano2017-sampling": 6, "attractors": 20,
    "conditions": 4, "transition": 4, "explore": 25,
}
DEFAULT_EXAMPLES = {"reproduce": 6, "compare": 8}
EXAMPLES.update({n: DEFAULT_EXAMPLES.get(n.split()[0], 10) for n in COMMANDS
                 if n not in EXAMPLES})

# names that are not options of the command at hand (a usage error, status 2)
FOREIGN = ["--bogus", "--trials", "--epochs", "--nz", "--profile", "--model", "--out",
           "--no-such-option", "-x"]

# --------------------------------------------------------------------------------------
# value pools
# --------------------------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00@"),
               max_size=10)
NUMBER_STRINGS = ["nan", "inf", "-inf", "1e400", "-0", "0x10", "1_000", "", " ", "abc"]
INTS = st.sampled_from([0, 1, 2, -1, -(2**63), *HUGE, *NUMBER_STRINGS]) | st.integers(-3, 5)
SMALL_INTS = st.sampled_from([0, 1, 2, -1, "nan", "1.5", "x", ""]) | st.integers(-2, 2)
SIZES = st.sampled_from([0, 1, 2, 5, -1, *HUGE, "nan", "x"]) | st.integers(-2, 8)
FLOATS = st.sampled_from([0, 1e-3, 0.5, 1, -1, 1e30, "nan", "inf", "-inf", "1e400", "1e-400",
                          "x", ""]) | st.floats(allow_nan=True, allow_infinity=True)

HOSTILE_RUNS = ["@files/run-nanbias", "@files/run-huge", "@files/run-deepconfig",
                "@files/run-deepmeta", "@files/run-olddata"]
RUNS = ["@vae", "@clf", "@gan", "@encoder", "@files/run-trunc", "@files/run-garbage",
        "@files/run-hugeheader", "@files/run-badconfig", "@files/run-configlist",
        "@files/run-badmanifest", "@files/run-wrongkind", "@files/run-nofiles",
        "@files/run-empty", "@files/run-nan", "@files/run-otherdims", "@files/run-ckpt-only",
        "@files/run-running", "@files/nosuch", "@files/good.json", "@vae/lsd", "@data",
        # issue 21: NaN and huge weights, deeply nested JSON, a run whose data changed
        # since it was trained, a symlink to a run, a training run killed with -9
        *HOSTILE_RUNS, "@files/link-vae", "@killedtrain"]
DATASETS = [TOY, TOY10, "synthetic", "synthetic:k=0", "synthetic:k=2,m=1,test=0",
            "synthetic:side=0", "synthetic:side=1000000", "synthetic:bogus=1",
            "synthetic:k=1000000,m=1000000", "synthetic:k=nan", "synthetic:", "synthetic:k=3,k=4",
            "digits", "mnist", "fashion-mnist", "mnist-embedded", "nosuch", "", "npz:",
            "npz:@files/good.npz", "npz:@files/garbage.npz", "npz:@files/nan.npz",
            "npz:@files/range.npz", "npz:@files/mismatch.npz", "npz:@files/pickle.npz",
            "npz:@files/empty.npz", "npz:@files/nolabels.npz", "npz:@files/flat.npz",
            "npz:@files/neglabels.npz", "npz:@files/hugelabels.npz", "npz:@files/trunc.npz",
            "npz:@files/floatlabels.npz", "npz:@files/nosuch.npz", "npz:@files",
            "npz:@files/changing.npz"]
CHEAP_DATASETS = [d for d in DATASETS if d not in ("digits", "mnist-embedded", "synthetic")]
CONFIGS = ["@files/good.json", "@files/bad.json", "@files/list.json", "@files/types.json",
           "@files/unknown.json", "@files/nan.json", "@files/huge.json", "@files/neg.json",
           "@files/deep.json", "@files/binary.json", "@files/good.toml", "@files/bad.toml",
           "@files/good.yaml", "@files/bad.yaml", "@files/pytag.yaml", "@files/empty.yaml",
           "@files/cfg.txt", "@files/sweep.json", "@files/sweep-bad.json", "@vae/config.json",
           "@clf/config.json", "@files/nosuch.json", "@files", "@files/deepvalid.json",
           "@files/deepobj.json", "@files/deep.yaml", "@files/deep.toml"]
DATA_DIRS = ["@data", "@idx", "@files/good.json", "@files/nosuch", "", "."]
OUTS = ["out", "out/sub", "@vae", "@clf", "@gan", "@vae/lsd", "@nagano", "@nagano/model", "@files/good.json",
        "@files/good.json/sub", "@files/badmanifest", "@files/badsweep", "@files/run-trunc",
        "@files/run-running", "", "x" * 300, ".",
        # issue 21: folders of other kinds (someone's files, a training run killed with
        # -9, a study killed while it ran), a result whose figures/ is a symlink, a
        # symlink to a run, a sweep of data that changed since, a small filesystem
        "@mine", "@killedtrain", "@killedstudy", "@attx", "@files/link-vae",
        "@files/sweep-olddata", "@tiny/out"]
FILE_OUTS = ["out.npz", "out.json", "out", "sub/out.npz", "@vae/dynamics-swap.npz",
             "@vae/dynamics-swap.json", "@vae", "@files/good.json", "@files/good.json/x.npz",
             "", "x" * 300 + ".npz", "@tiny/out.npz", "@tiny/sub/out.json", "@mine/out.npz"]
BASES = ["@vae/lsd/basis.safetensors", "@files/basis-garbage.safetensors",
         "@files/basis-trunc.safetensors", "@vae/model.safetensors", "@files/good.json",
         "@files/nosuch.safetensors", "@files"]
LISTS = ["1", "1,3", "0", "-1", "1,,2", ",", "", "a", "nan", "inf", "1e400", "99999999999"]
P_LISTS = ["0", "0.1", "0.1,0.2", "1", "1.5", "-0.1", "nan", "inf", "", ",", "a", "0.1,x"]

POOLS: dict[str, list | st.SearchStrategy] = {
    # work done: toy values only
    "--epochs": SMALL_INTS, "--gan-epochs": SMALL_INTS, "--fits": SMALL_INTS,
    # drawn and evaluated in chunks, so a huge count is work rather than memory
    "--prior-samples": st.sampled_from([0, 1, 20, -1, "x"]) | st.integers(-2, 30),
    "--ll-k": st.sampled_from([0, 1, 2, -1, "x"]) | st.integers(-2, 4),
    "--workers": st.sampled_from([0, -1, 1, 2, 10**6, "x"]),
    "--checkpoint-every": INTS, "--eval-every": INTS,
    # sizes allocated at once: huge values too
    "--trials": SIZES, "--nz": SIZES, "--hidden": SIZES, "--samples": SIZES,
    "--batch-size": SIZES, "--batch": SIZES, "--n-train": SIZES, "--n-test": SIZES,
    "--max-per-class": SIZES, "--train-images": SIZES,
    "--test-images": SIZES, "--q-hidden": SIZES, "--examples": SIZES,
    "--ll-images": SIZES, "--max-ensemble": SIZES, "--label": INTS, "--seed": INTS,
    "--lr": FLOATS, "--lam": FLOATS,
    "--lr-milestones": ["", "0.5", "0.5,0.8", "1.5", "-1", "nan", "a,b", "0.8,0.5", ",", "0,0"],
    "--p": P_LISTS, "--levels": P_LISTS, "--memories": SIZES, "--starts": SIZES,
    "--max-steps": SMALL_INTS, "--tol": FLOATS, "--port": ["0", "-1", "65536", "x", "80"],
    "--host": ["127.0.0.1", "localhost", "", "bogus host", "::1"],
    "--backend": ["local", "bogus", ""],
    "--attractors": ["@files/good.json", "@files/nosuch", "@files", "@files/deepvalid.json",
                     "@files/deepobj.json", "@attx"], "--ks": LISTS, "--seeds": LISTS,
    "--noise": ["swap", "flip", "salt_pepper", "gaussian", "bogus", "", "swap,flip",
                "swap,bogus", "gaussian,gaussian"],
    "--mode": ["deterministic", "sampling", "bogus", ""],
    "--device": ["cpu", "cpu", "auto", "cuda", "cuda:7", "tpu", "", "cpu:0", "meta"],
    "--profile": ["smoke", "smoke", "bogus", "", "SMOKE"],
    "--model": [*RUNS, "@nagano/model"], "--classifier": RUNS, "--judge": RUNS, "--gan": RUNS, "--encoder": RUNS,
    "--vae": RUNS,
    "--dataset": DATASETS, "--data-dir": DATA_DIRS, "--config": CONFIGS,
    "--out": OUTS, "--basis-vae": BASES, "--basis-gan": BASES,
    "--codes": ["all", "cat", "0", "0,1", "0-2", "2-0", "cat,0", "-1", "99", "", "a", "0-",
                "none", "auto", "0,0"],
    "--source": ["prior", "posterior", "bogus"], "--q-arch": ["fc", "conv", "bogus"],
    "--split": ["test", "train", "bogus"],
    "--option": ["lam=0.01", "n_cat=3", "arch=conv", "arch=fc", "bogus=1", "noequals", "=1",
                 "lam=nan", "n_cat=-1", "n_cat=1", "codes=cat", "channels=0", "num_classes=0",
                 "num_classes=1", "dropout_conv=2", "conv1=0", "dense=1e400", "gan=@gan",
                 "classifier=@clf", "gan=@vae", "classifier=@files/run-garbage",
                 "temp_steps=-1", "likelihood=bogus", "obs_std=0", "q_source=bogus"],
}
# per-command value pools where the generic one would cost too much or mean another thing
COMMAND_POOLS = {
    "dynamics": {"--out": FILE_OUTS, "--steps": SIZES, "--dataset": DATASETS},
    "mi": {"--out": FILE_OUTS, "--steps": SMALL_INTS},
    "compare denoise": {"--steps": LISTS, "--dataset": CHEAP_DATASETS,
                        "--n-test": SIZES},
    "reproduce nagano2017": {"--dataset": CHEAP_DATASETS, "--steps": SIZES,
                             "--nz": SIZES},
    "reproduce serdega2020": {"--dataset": CHEAP_DATASETS},
    "reproduce toledo2023": {"--dataset": CHEAP_DATASETS},
    "reproduce nagano2017-sampling": {"--dataset": CHEAP_DATASETS, "--steps": SIZES},
    "attractors": {"--out": OUTS, "--steps": SMALL_INTS, "--dataset": CHEAP_DATASETS},
    # issue 21: grid values listed twice in any spelling, out of range, nowhere to go
    "conditions": {"--dataset": CHEAP_DATASETS,
                   "--noises": ["swap,swap", "swap", "swap,flip", "bogus", "flip,swap,flip"],
                   "--modes": ["sampling,sampling", "deterministic", "deterministic,sampling"],
                   "--sizes": ["20,020", "all,all", "20", "all,20,all", "0"],
                   "--training": ["epochs=1,epochs=01", "steps=4, steps=4", "epochs=1",
                                  "steps=99999999999999999999", "epochs=3000000000"],
                   "--latent-sizes": ["2,2", "2", "02,2", "2,3"],
                   "--seeds": ["0,0", "0", "4294967296", "1,01", *LISTS],
                   "--datasets": ["digits,digits", TOY10, f"{TOY10},{TOY10}",
                                  "npz:@files/good.npz,npz:@files/../files/good.npz"],
                   "--out": OUTS},
    "transition": {"--datasets": CHEAP_DATASETS},
    "data info": {"name": ["mnist", "fashion-mnist", "mnist-embedded", "digits", TOY,
                           *DATASETS[3:12], "npz:@files/good.npz", "npz:@files/garbage.npz",
                           "npz:@files/pickle.npz", "npz:@files/hugelabels.npz", "bogus",
                           "", "../..", "MNIST"]},
    "data download": {"name": ["mnist", "fashion-mnist", "mnist-embedded", "digits", TOY,
                               "bogus", "", "MNIST", "npz:@files/good.npz"],
                      # only folders inside the temporary folder
                      "--data-dir": ["@data", "@idx", "@files/good.json", "@files/dl",
                                     "@files/dl/new", "@files/nosuch"]},
}


def option_list(name: str) -> list[click.Option]:
    return [p for p in command(COMMANDS[name]).params
            if isinstance(p, click.Option) and "--help" not in p.opts]


def pool(name: str, opt: str):
    values = COMMAND_POOLS.get(name, {}).get(opt, POOLS.get(opt))
    if values is None:
        return TEXT
    return values if isinstance(values, st.SearchStrategy) else st.sampled_from(values)


def one_option(name: str):
    """``[--opt, value]`` (or ``[--flag]``) for a random option of command ``name``."""
    choices = []
    for p in option_list(name):
        for opt in (*p.opts, *p.secondary_opts):
            if not opt.startswith("--"):
                continue
            if p.is_flag or p.count:
                choices.append(st.just([opt]))
            else:
                choices.append(pool(name, opt).map(lambda v, o=opt: [o, str(v)]))
    foreign = st.sampled_from(FOREIGN).flatmap(
        lambda o: st.sampled_from([[o], [o, "1"], [o, "x"]]))
    return st.one_of(st.one_of(choices), foreign) if choices else foreign


def argv_strategy(name: str, max_options: int = 4):
    opts = st.lists(one_option(name), max_size=max_options).map(
        lambda pairs: [w for pair in pairs for w in pair])
    if name in ("data info", "data download"):
        names = pool(name, "name") | TEXT
        # mostly NAME first, sometimes missing or repeated
        return st.tuples(st.lists(names, min_size=0, max_size=2), opts).map(
            lambda t: [*t[0][:1], *t[1], *t[0][1:]])
    return opts

# --------------------------------------------------------------------------------------
# the known failing cases (the work list), by command: argv after the command's BASE
# --------------------------------------------------------------------------------------

KNOWN: dict[str, list[list[str]]] = {name: [] for name in COMMANDS}
KNOWN.update({
    "train": [
        ["--out", "@vae", "--resume"],           # a finished run: rewrites its manifest
        ["--nz", str(2**63)],                    # sizes past int64 reach torch
        ["--hidden", str(10**30)],
        ["--samples", str(2**63)],
        ["--samples", str(2**31)],               # an allocation that cannot succeed
    ],
    "classifier train": [
        ["--out", "@clf", "--resume"],           # a finished run: rewrites its manifest
    ],
    "dynamics": [
        ["--steps", "0"],                        # T = 0: the viewer frames fail to concatenate
        ["--trials", str(2**31)],
    ],
    "lsd": [
        ["--max-per-class", str(10**30)],
    ],
    "sweep": [
        ["--nz", str(2**63)],
        ["--hidden", str(10**30)],
        ["--samples", str(2**31)],
    ],
    "mi": [
        ["--seed", str(10**30)],
        ["--q-hidden", str(10**30)],
        ["--n-train", str(2**31)],
        ["--n-test", str(2**31)],
        ["--source", "posterior", "--n-test", str(10**30)],
    ],
    "compare denoise": [
        ["--classifier", "@vae"],                # a VAE run as the classifier
        ["--steps", str(2**31)],
    ],
    "reproduce nagano2017": [
        ["--nz", str(10**30)],
        ["--trials", str(2**31)],
    ],
    "reproduce serdega2020": [
        ["--dataset", "npz:@files/hugelabels.npz"],  # labels up to 2e9: one-hot of 2e9 classes
    ],
    "reproduce toledo2023": [
        ["--seed", str(10**30)],
    ],
})

# the inputs of issue 21, tried by every run of the suite (@example entries that must pass)
HOSTILE: dict[str, list[list[str]]] = {name: [] for name in COMMANDS}
HOSTILE.update({
    "train": [["--out", "@tiny/out"], ["--config", "@files/deepobj.json"],
              ["--config", "@files/deep.yaml"], ["--option", "dropout=" + DEEP],
              ["--out", "@mine", "--overwrite"], ["--out", "@killedstudy", "--overwrite"],
              ["--out", "@attx", "--overwrite"],
              ["--dataset", "npz:@files/changing.npz", "--out", "@files/run-olddata",
               "--resume"]],
    "sweep": [["--dataset", "npz:@files/changing.npz", "--out", "@files/sweep-olddata"],
              ["--out", "@tiny/out"], ["--out", "@killedtrain", "--overwrite"]],
    "dynamics": [["--model", "@files/run-huge", "--mode", "sampling"],
                 ["--model", "@files/run-nanbias"], ["--model", "@files/run-olddata"],
                 ["--model", "@files/run-deepconfig"], ["--out", "@tiny/out.npz"]],
    "mi": [["--model", "@files/run-huge", "--source", "posterior"],
           ["--model", "@files/run-deepmeta"],
           ["--model", "@files/run-olddata", "--source", "posterior"]],
    "attractors": [["--model", "@files/run-huge"], ["--model", "@files/run-olddata"],
                   ["--out", "@attx", "--overwrite"], ["--out", "@killedtrain", "--overwrite"],
                   ["--out", "@killedstudy"], ["--out", "@mine", "--overwrite"],
                   ["--out", "@files/link-vae", "--overwrite"], ["--out", "@tiny/out"]],
    "explore": [["--model", "@files/run-olddata"], ["--model", "@files/run-huge"],
                ["--attractors", "@files/deepvalid.json"]],
    "reproduce nagano2017-sampling": [["--model", "@files/run-huge"], ["--out", "@tiny/out"]],
    "conditions": [["--noises", "swap,swap"], ["--modes", "sampling,sampling"],
                   ["--sizes", "20,020"], ["--training", "epochs=1,epochs=01"],
                   ["--latent-sizes", "2,2"], ["--seeds", "0,0"], ["--seeds", "4294967296"],
                   ["--training", "steps=99999999999999999999"]],
})

# --------------------------------------------------------------------------------------
# the world: protected results, corrupt inputs, no network
# --------------------------------------------------------------------------------------


class Timeout(BaseException):
    """An example ran past TIME_LIMIT_S (not an Exception: main must not swallow it)."""


# protected folders that only the commands named may change (when told --overwrite, or
# train told --resume): someone's files, the folder a result's symlink points to, a
# training run killed with -9, a study killed while it ran, an attractors result
OWNED = {"mine": (), "linked": (), "killedtrain": ("train",),
         "killedstudy": ("reproduce nagano2017",), "attx": ("attractors",)}
# runs no command may read as its --model: trained on data that changed since (read on
# that data), one NaN in a decoder bias, a config.json or metadata nested 100 000 deep
BROKEN_RUNS = ("run-olddata", "run-nanbias", "run-deepconfig", "run-deepmeta")
# what used to mislead (issue 21, items 5, 7, 11): never printed
MISLEADING = ("p_in", "numerator", "tol must be positive", "RecursionError",
              "maximum recursion depth", "192.0.2.2")
TINY = 8 << 10  # bytes of the small filesystem (a tmpfs, where this process may mount)


class World:
    def __init__(self, root: Path):
        self.root = root
        self.protected = [root / "vae", root / "clf", root / "gan", root / "encoder",
                          root / "nagano", *(root / name for name in OWNED),
                          root / "tiny" / "keep"]
        self.restored = [root / "files", root / "data", root / "idx"]
        self.pristine = root / ".pristine"
        self.network: list[str] = []
        self.tiny_mounted = False

    def resolve(self, word: str) -> str:
        return re.sub(r"@([\w./-]*)", lambda m: str(self.root / m[1]) if m[1] else
                      str(self.root), word)

    def snapshot(self) -> None:
        for folder in (*self.protected, *self.restored):
            shutil.copytree(folder, self.pristine / folder.name, symlinks=True)

    def restore(self) -> None:
        for folder in (*self.protected, *self.restored):
            if tree_digest(folder) != tree_digest(self.pristine / folder.name):
                if folder.is_dir() and not folder.is_symlink():
                    shutil.rmtree(folder)
                elif folder.exists() or folder.is_symlink():
                    folder.unlink()
                shutil.copytree(self.pristine / folder.name, folder, symlinks=True)


def tree_digest(folder: Path) -> dict[str, str]:
    out = {}
    if not folder.is_dir():
        return {"<not a folder>": str(folder.exists())}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            out[str(path.relative_to(folder))] = "-> " + os.readlink(path)
        elif path.is_file():
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
        elif path.is_dir() and not any(path.iterdir()):
            out[str(path.relative_to(folder)) + "/"] = "empty"
    return out


def _ok(argv):
    rc = main(argv)
    assert rc == 0, f"setup command failed ({rc}): latentdyn {' '.join(map(str, argv))}"


def _make_protected(root: Path) -> None:
    """Completed toy results: a VAE run with a dynamics and an LSD result in it, a
    classifier, a GAN (with a sample grid), its encoder, and a nagano2017 reproduction."""
    from latentdyn.data import load_dataset
    from latentdyn.train import train
    from latentdyn.train.recipes import EncoderRecipe, GanRecipe, encoder_config, gan_config
    from latentdyn.train.runs import load_run

    _ok(["train", "--dataset", TOY, "--nz", "3", "--hidden", "8", "--epochs", "1", "--quiet",
         "--device", "cpu", "--out", str(root / "vae")])
    _ok(["dynamics", "--model", str(root / "vae"), "--trials", "3", "--steps", "3", "--p",
         "0.2", "--quiet", "--device", "cpu"])
    _ok(["classifier", "train", "--dataset", TOY, "--epochs", "1", "--batch-size", "8",
         "--option", "conv1=2", "--option", "conv2=2", "--option", "dense=4", "--option",
         "num_classes=3", "--quiet", "--device", "cpu", "--out", str(root / "clf")])
    _ok(["lsd", "--model", str(root / "vae"), "--classifier", str(root / "clf"),
         "--prior-samples", "20", "--no-progress"])
    data = load_dataset(TOY)
    train(gan_config(GanRecipe(nz=3, epochs=1, batch_size=8, lr=2e-3, g_width=4, d_width=2),
                     data, seed=0, device="cpu", classifier=str(root / "clf")),
          root / "gan", progress=False, dataset=data)
    gan = load_run(root / "gan").model
    train(encoder_config(EncoderRecipe(epochs=1, batch_size=8, lr=1e-3, e_width=2, e_hidden=4),
                         data, gan, gan=str(root / "gan"), classifier=str(root / "clf"),
                         seed=0, device="cpu"),
          root / "encoder", progress=False, dataset=data)
    # seed 7: no fuzzed command asks for it, so every study told --out @nagano must refuse
    _ok(["reproduce", "nagano2017", "--profile", "smoke", "--dataset", TOY10,
         "--no-latent-size", "--trials", "4", "--steps", "3", "--seed", "7", "--quiet",
         "--device", "cpu", "--out", str(root / "nagano")])


def _write(path: Path, content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)


def _run_variant(root: Path, name: str, change) -> None:
    dst = root / "files" / name
    shutil.copytree(root / "vae", dst, ignore=shutil.ignore_patterns("dynamics-*", "lsd"))
    change(dst)


def _make_files(root: Path) -> None:
    """Corrupt and odd inputs: configs, npz, IDX, safetensors, run and result folders."""
    from safetensors.torch import load_file, save_file

    files = root / "files"
    rng = np.random.default_rng(0)
    garbage = rng.bytes(600)
    good_cfg = {"model": "vae", "dataset": TOY, "nz": 2, "hidden": 8, "epochs": 1}
    # configs
    for name, text in {
        "good.json": json.dumps(good_cfg), "bad.json": '{"nz": 3,', "list.json": "[1, 2]",
        "types.json": '{"nz": "abc", "epochs": "x", "lr": [1], "seed": null}',
        "unknown.json": '{"bogus": 1, "epochs": 1}', "nan.json": '{"lr": NaN, "epochs": 1}',
        "huge.json": '{"nz": 1e400, "hidden": 100000000000000000000, "epochs": 1}',
        "neg.json": '{"batch_size": -5, "nz": -1, "epochs": 1}', "deep.json": "[" * 100000,
        "good.toml": f'dataset = "{TOY}"\nnz = 2\nhidden = 8\nepochs = 1\n',
        "bad.toml": "nz = = 3\n[[[", "good.yaml": f"dataset: '{TOY}'\nnz: 2\nepochs: 1\n",
        "bad.yaml": ": : :\n- [\n\t{", "pytag.yaml": "!!python/object/apply:os.getcwd []\n",
        "empty.yaml": "", "cfg.txt": "nz=3\n",
        "sweep.json": json.dumps({**good_cfg, "nz": [2, 3], "lr": [1e-3], "seed": [0, 1]}),
        "sweep-bad.json": json.dumps({"nz": ["a", None], "batch": {"x": 1}, "epochs": 1}),
    }.items():
        _write(files / name, text)
    _write(files / "binary.json", b"\xff\xfe\x00" + garbage)
    # npz
    imgs = rng.integers(0, 256, (30, 8, 8), dtype=np.uint8)
    labels = np.arange(30) % 3
    npz = {
        "good": dict(images=imgs, labels=labels),
        "nan": dict(images=np.full((30, 8, 8), np.nan, np.float32), labels=labels),
        "range": dict(images=rng.normal(0, 5, (30, 8, 8)).astype(np.float32), labels=labels),
        "mismatch": dict(images=imgs, labels=labels[:7]),
        "pickle": dict(images=np.array([object()] * 3, dtype=object), labels=labels[:3]),
        "empty": dict(images=np.zeros((0, 8, 8), np.uint8), labels=np.zeros(0, np.int64)),
        "nolabels": dict(images=imgs), "flat": dict(images=imgs.reshape(-1), labels=labels),
        "neglabels": dict(images=imgs, labels=labels - 5),
        "hugelabels": dict(images=imgs, labels=labels * 10**9),
        "floatlabels": dict(images=imgs, labels=labels + 0.5),
    }
    for name, arrays in npz.items():
        with open(files / f"{name}.npz", "wb") as fh:
            np.savez(fh, **arrays)
    _write(files / "garbage.npz", garbage)
    _write(files / "trunc.npz", (files / "good.npz").read_bytes()[:300])
    # IDX: garbage .gz files for mnist; fashion-mnist with a header claiming 2**31 images
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        _write(root / "idx" / "mnist" / f"{stem}.gz", b"\x1f\x8b" + garbage[:100])
        head = struct.pack(">IIII", 0x803, 2**31 - 1, 28, 28) if "images" in stem else \
            struct.pack(">II", 0x801, 2**31 - 1)
        _write(root / "idx" / "fashion-mnist" / stem, head + garbage[:64])
    # safetensors
    weights = (root / "vae" / "model.safetensors").read_bytes()
    _write(files / "basis-garbage.safetensors", garbage)
    _write(files / "basis-trunc.safetensors",
           (root / "vae" / "lsd" / "basis.safetensors").read_bytes()[:200])

    def nan_weights(d):
        tensors = load_file(d / "model.safetensors")
        from safetensors import safe_open
        with safe_open(d / "model.safetensors", "pt") as fh:
            meta = fh.metadata()
        save_file({k: torch.full_like(v, float("nan")) for k, v in tensors.items()},
                  d / "model.safetensors", metadata=meta)

    def config_edit(**changes):
        def change(d):
            cfg = json.loads((d / "config.json").read_text())
            cfg.update(changes)
            (d / "config.json").write_text(json.dumps(cfg))
        return change

    def ckpt_only(d):
        (d / "model.safetensors").unlink()
        _write(d / "checkpoint.safetensors", garbage)

    def running(d):
        m = json.loads((d / "manifest.json").read_text())
        m["status"] = "running"
        (d / "manifest.json").write_text(json.dumps(m))
        (d / "model.safetensors").unlink()

    variants = {
        "run-trunc": lambda d: _write(d / "model.safetensors", weights[: len(weights) // 2]),
        "run-garbage": lambda d: _write(d / "model.safetensors", garbage),
        "run-hugeheader": lambda d: _write(d / "model.safetensors",
                                           struct.pack("<Q", 2**62) + b"{" + garbage[:50]),
        "run-badconfig": lambda d: _write(d / "config.json", "{not json"),
        "run-configlist": lambda d: _write(d / "config.json", "[1, 2, 3]"),
        "run-badmanifest": lambda d: _write(d / "manifest.json", "nope{"),
        "run-wrongkind": config_edit(model="classifier"),
        "run-otherdims": config_edit(nz=7, hidden=5),
        "run-nofiles": lambda d: [(d / f).unlink() for f in ("model.safetensors",
                                                               "checkpoint.safetensors")],
        "run-nan": nan_weights, "run-ckpt-only": ckpt_only, "run-running": running,
    }
    for name, change in variants.items():
        _run_variant(root, name, change)
    (files / "run-empty").mkdir()
    # result folders whose bookkeeping is not JSON
    _write(files / "badmanifest" / "manifest.json", "this is not JSON {")
    _write(files / "badsweep" / "sweep.json", "[[[")
    _write(files / "badsweep" / "manifest.json", "\xff")
    (files / "dl").mkdir()


def _nan_bias(name: str, t: torch.Tensor) -> torch.Tensor:
    if name != "decoder_out.bias":
        return t
    t = t.clone()
    t.view(-1)[0] = float("nan")
    return t


def _edit_weights(d: Path, tensors=None, meta=None) -> None:
    """Rewrite ``d/model.safetensors``: each tensor through ``tensors(name, t)``, the
    ``latentdyn`` metadata replaced by ``meta``."""
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    path = d / "model.safetensors"
    with safe_open(str(path), "pt") as fh:
        metadata = fh.metadata()
    weights = load_file(str(path))
    if tensors is not None:
        weights = {k: tensors(k, v) for k, v in weights.items()}
    if meta is not None:
        metadata = {**metadata, "latentdyn": meta}
    save_file(weights, str(path), metadata=metadata)


def _make_hostile(root: Path) -> None:
    """The inputs of issue 21: NaN and huge weights, JSON nested 100 000 deep, data that
    changed under a run and a sweep trained on it, folders of other kinds, a result whose
    figures/ is a symlink, a symlink to a run, and a small filesystem."""
    from latentdyn.train.runs import load_run

    files = root / "files"
    assert "decoder_out.bias" in load_run(root / "vae").model.state_dict()
    variants = {
        "run-nanbias": lambda d: _edit_weights(d, tensors=_nan_bias),
        "run-huge": lambda d: _edit_weights(d, tensors=lambda k, v: torch.full_like(v, 1e30)),
        "run-deepconfig": lambda d: _write(d / "config.json", DEEP),
        "run-deepmeta": lambda d: _edit_weights(d, meta=DEEP),
    }
    for name, change in variants.items():
        _run_variant(root, name, change)
    _write(files / "deepvalid.json", DEEP)
    _write(files / "deepobj.json", '{"nz": ' + DEEP + "}")
    _write(files / "deep.yaml", "nz: " + DEEP)
    _write(files / "deep.toml", "nz = " + DEEP)
    # a run and a sweep trained on changing.npz, which then gets other images and labels
    changing = files / "changing.npz"
    shutil.copy(files / "good.npz", changing)
    data = ["--dataset", f"npz:{changing}"]
    _ok(["train", *data, "--nz", "3", "--hidden", "8", "--epochs", "1", "--quiet",
         "--device", "cpu", "--out", str(files / "run-olddata")])
    _ok(["sweep", *BASE["sweep"][2:], *data, "--out", str(files / "sweep-olddata")])
    rng = np.random.default_rng(1)
    with open(changing, "wb") as fh:
        np.savez(fh, images=rng.integers(0, 256, (30, 8, 8), dtype=np.uint8),
                 labels=(np.arange(30) + 1) % 3)
    (files / "link-vae").symlink_to(root / "vae", target_is_directory=True)
    # folders of other kinds
    _write(root / "mine" / "thesis.tex", "precious")
    shutil.copytree(root / "vae", root / "killedtrain",
                    ignore=shutil.ignore_patterns("dynamics-*", "lsd"))
    m = json.loads((root / "killedtrain" / "manifest.json").read_text())
    (root / "killedtrain" / "manifest.json").write_text(json.dumps({**m, "status": "running"}))
    (root / "killedtrain" / "model.safetensors").unlink()
    _write(root / "killedstudy" / ".staging" / "manifest.json", json.dumps(
        {"kind": "reproduce nagano2017", "status": "running", "config": {}}))
    _write(root / "killedstudy" / "model.txt", "its model")
    # an attractors result (seed 7: no fuzzed command asks for it) whose figures/ is a
    # symlink to a folder elsewhere, which nothing may change
    _ok(["attractors", *[w.replace("@vae", str(root / "vae")) for w in BASE["attractors"]
                         if w not in ("--out", "att")], "--seed", "7", "--out",
         str(root / "attx")])
    os.replace(root / "attx" / "figures", root / "linked")
    (root / "attx" / "figures").symlink_to(root / "linked", target_is_directory=True)


def _mount_tiny(world: World) -> None:
    """A small filesystem at ``<root>/tiny`` (a tmpfs of TINY bytes, where this process may
    mount one), holding ``keep/keep.txt``, which nothing may change; elsewhere an ordinary
    folder (the full-disk tests of tests/test_full_disk.py then use RLIMIT_FSIZE)."""
    tiny = world.root / "tiny"
    tiny.mkdir()
    world.tiny_mounted = os.environ.get("LATENTDYN_TEST_NO_MOUNT") != "1" and \
        hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("mount") is not None \
        and subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TINY}", "tmpfs", str(tiny)],
                           capture_output=True).returncode == 0
    _write(tiny / "keep" / "keep.txt", "precious")


def _clear_tiny(world: World) -> None:
    for entry in (world.root / "tiny").iterdir():
        if entry.name != "keep":
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-fuzz")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cwd = os.getcwd()
    os.chdir(root)
    w = World(root)
    (root / "data").mkdir()
    (root / "scratch").mkdir()
    real_connect = socket.socket.connect

    def no_urlopen(url, *args, **kwargs):
        w.network.append(f"urlopen {getattr(url, 'full_url', url)}")
        raise urllib.error.URLError("network access blocked by the test")

    def no_connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            w.network.append(f"connect {address}")
            raise OSError("network access blocked by the test")
        return real_connect(self, address)

    def no_create(address, *args, **kwargs):
        w.network.append(f"create_connection {address}")
        raise OSError("network access blocked by the test")

    limits = resource.getrlimit(resource.RLIMIT_AS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(urllib.request, "urlopen", no_urlopen)
        mp.setattr(socket.socket, "connect", no_connect)
        mp.setattr(socket, "create_connection", no_create)
        mp.setenv("LATENTDYN_DATA", str(root / "data"))
        mp.delenv("LATENTDYN_TRACEBACK", raising=False)
        try:
            _make_protected(root)
            _make_files(root)
            _make_hostile(root)
            _mount_tiny(w)
            w.snapshot()
            with open("/proc/self/status") as fh:
                vm = next(int(line.split()[1]) * 1024 for line in fh
                          if line.startswith("VmSize:"))
            cap = vm + MEMORY_CAP
            if limits[1] == resource.RLIM_INFINITY or cap < limits[1]:
                resource.setrlimit(resource.RLIMIT_AS, (cap, limits[1]))
            yield w
        finally:
            resource.setrlimit(resource.RLIMIT_AS, limits)
            if w.tiny_mounted:
                subprocess.run(["umount", "-l", str(root / "tiny")], capture_output=True)
            os.chdir(cwd)
            torch.set_num_threads(threads)


@contextlib.contextmanager
def time_limit(seconds: int):
    """Stop the example after ``seconds`` of this process's CPU time (so a machine shared
    with other work does not fail it), or after WALL_FACTOR times as long on the clock
    (a command waiting on nothing would use no CPU time)."""
    def stop(signum, frame):
        what = "CPU" if signum == signal.SIGPROF else "wall-clock"
        raise Timeout(f"still running after {seconds * (1 if what == 'CPU' else WALL_FACTOR)}"
                      f" s of {what} time")

    old = signal.signal(signal.SIGALRM, stop), signal.signal(signal.SIGPROF, stop)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    signal.alarm(seconds * WALL_FACTOR)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGALRM, old[0])
        signal.signal(signal.SIGPROF, old[1])


@contextlib.contextmanager
def no_server():
    """``latentdyn explore`` returns at once instead of serving until Ctrl-C."""
    import latentdyn.explore.server as server

    def serve(app, sock, *args, **kwargs):
        sock.close()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(server, "serve", serve)
        yield


def overwrite_targets(world: World, name: str, argv: list[str]) -> set[Path]:
    """The protected folders this command may change: those holding its --out (symlinks
    followed), or for dynamics and lsd without --out the --model run (their default
    output), when it was told --overwrite; a folder of OWNED only by its own commands
    (and the killed training run also by train --resume)."""
    resume = name == "train" and "--resume" in argv
    if "--overwrite" not in argv and not resume:
        return set()
    outs = [Path(argv[i + 1]) for i, w in enumerate(argv[:-1]) if w == "--out"]
    if not outs and name in ("dynamics", "lsd"):
        outs = [Path(argv[i + 1]) for i, w in enumerate(argv[:-1]) if w == "--model"][-1:]
    allowed = set()
    for out in outs:
        out = (out if out.is_absolute() else Path.cwd() / out).resolve()
        for p in world.protected:
            if p.name in OWNED and name not in OWNED[p.name]:
                continue
            if "--overwrite" not in argv and p.name != "killedtrain":
                continue
            if out == p or p in out.parents or out in p.parents:
                allowed.add(p)
    return allowed


def _exists(path: Path) -> bool:
    try:
        return os.path.lexists(path)
    except (OSError, ValueError):  # a name too long, a NUL byte
        return False


def last_value(argv: list[str], option: str) -> str | None:
    values = [argv[i + 1] for i, w in enumerate(argv[:-1]) if w == option]
    return values[-1] if values else None


def _grid_value(option: str, word: str, cwd: Path):
    """One value of a conditions grid option as the command must compare it (20 and 020
    one size, epochs=1 and epochs=01 one amount, two paths of one file one data set)."""
    word = word.strip()
    if option in ("--sizes", "--latent-sizes", "--seeds"):
        return word if word == "all" else int(word)
    if option == "--training":
        key, value = word.split("=")
        return key.strip(), int(value)
    if option == "--datasets" and word.startswith("npz:"):
        return os.path.realpath(cwd / word[4:])
    return word


def repeated_grid_value(argv: list[str], cwd: Path) -> str | None:
    """The conditions option listing one value twice (in any spelling), if any."""
    for option in ("--noises", "--modes", "--sizes", "--training", "--latent-sizes",
                   "--seeds", "--datasets"):
        value = last_value(argv, option)
        if value is None:
            continue
        try:
            values = [_grid_value(option, w, cwd) for w in value.split(",") if w.strip()]
        except ValueError:
            continue
        if len(values) != len(set(values)):
            return option
    return None


def extra_checks(world: World, name: str, argv: list[str], rc, err: str, scratch: Path,
                 out_existed: bool) -> list[str]:
    """The promises of issue 21 the generic checks do not cover."""
    problems = []
    models = [argv[i + 1] for i, w in enumerate(argv[:-1]) if w == "--model"]
    if name != "explore":
        models = models[-1:]
    # the run whose data changed is refused when read on its own data (explore reads the
    # data of its first model); other data given on purpose is not compared
    # (mi reads no data unless --source posterior: its prior draws are the model's own)
    dataset = last_value(argv, "--dataset")
    same_data = (dataset is None or dataset.endswith("changing.npz")) and not (
        name == "mi" and last_value(argv, "--source") != "posterior")
    broken = [m for k, m in enumerate(models) if Path(m).name in BROKEN_RUNS and (
        Path(m).name != "run-olddata" or (same_data and k == 0))]
    if broken and rc == 0:
        problems.append(f"succeeded on a run it must refuse: {broken}")
    if any(m in err for m in MISLEADING):
        problems.append("a misleading message")
    lines = err.strip().splitlines()
    if rc == 2 and lines and not lines[-1].startswith("error:"):
        problems.append("the error line is not the last line")
    tiny = str(world.root / "tiny")
    if world.tiny_mounted and "No space left on device" in err and tiny not in err:
        problems.append("a full disk whose path is not named")
    if name == "conditions" and (option := repeated_grid_value(argv, scratch)):
        out = last_value(argv, "--out")
        if rc != 2 or option not in err:
            problems.append(f"a value listed twice in {option} not refused naming it")
        if out is not None and not out_existed and _exists(scratch / out):
            problems.append(f"refused grid, but {out} was written")
        if out is None and any(scratch.iterdir()):
            problems.append("refused grid, but something was written")
    return problems


def run_example(world: World, capfd, name: str, argv: list[str]) -> None:
    full = [*COMMANDS[name], *[world.resolve(w) for w in [*BASE.get(name, []), *argv]]]
    shown = "latentdyn " + " ".join(_quote(w) for w in [*COMMANDS[name], *BASE.get(name, []),
                                                        *argv])
    before = {p: tree_digest(p) for p in world.protected}
    scratch = Path(tempfile.mkdtemp(dir=world.root / "scratch"))
    out = last_value(full, "--out")
    out_existed = out is not None and _exists(scratch / out)
    os.chdir(scratch)
    world.network.clear()
    capfd.readouterr()
    rc, timed_out = None, None
    try:
        with time_limit(TIME_LIMIT_S.get(COMMANDS[name][0], 20)), no_server():
            rc = main(full)
    except Timeout as exc:
        rc, timed_out = None, str(exc)
    finally:
        captured = capfd.readouterr()
        allowed = overwrite_targets(world, name, full)
        os.chdir(world.root)
        problems = extra_checks(world, name, full, rc, captured.err, scratch, out_existed)
        shutil.rmtree(scratch, ignore_errors=True)
        _clear_tiny(world)
    changed = []
    for p in world.protected:
        if p in allowed:
            continue
        after = tree_digest(p)
        for rel, digest in before[p].items():
            if after.get(rel) != digest:
                changed.append(f"{p.name}/{rel} " + ("removed" if rel not in after else
                                                      "changed"))
    network = list(world.network)
    world.restore()
    text = captured.out + captured.err
    last = (captured.err.strip().splitlines() or [""])[-1]
    where = f"\n  command: {shown}\n  exit status: {rc}\n  stderr (last line): {last[:300]}"
    assert timed_out is None, f"{timed_out}{where}"
    assert rc in (0, 2), f"exit status {rc} (1 is an internal error){where}"
    assert "Traceback (most recent call last)" not in text, f"a traceback was printed{where}"
    if rc == 2:
        assert any(line.startswith("error:") for line in captured.err.splitlines()), \
            f"status 2 without an 'error:' line{where}"
    assert not changed, f"changed a completed result it was not told to --overwrite: " \
                        f"{', '.join(changed)}{where}"
    assert not problems, f"{'; '.join(problems)}{where}"
    if name != "data download":
        assert not network, f"network access: {network}{where}"


def _quote(word: str) -> str:
    return word if re.fullmatch(r"[\w@%+=:,./-]+", word) else json.dumps(word)

# --------------------------------------------------------------------------------------
# one test per command
# --------------------------------------------------------------------------------------

SETTINGS = dict(derandomize=True, deadline=None, database=None, print_blob=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


def make_test(name: str):
    @settings(max_examples=EXAMPLES[name], **SETTINGS)
    @given(argv=argv_strategy(name))
    def test(world, capfd, argv):
        run_example(world, capfd, name, argv)

    for argv in reversed([*KNOWN[name], *HOSTILE[name]]):
        test = example(argv=argv)(test)
    test.__name__ = "test_" + name.replace(" ", "_")
    test.__doc__ = f"`latentdyn {name}` with random options and files."
    return test


for _name in COMMANDS:
    globals()["test_" + _name.replace(" ", "_")] = make_test(_name)
del _name


def test_every_subcommand_is_fuzzed():
    """Every command of the CLI is fuzzed: the studies because they are registered (their
    toy example is their BASE), the others because they are named in OTHER_COMMANDS."""
    def leaves(group, path):
        ctx = click.Context(group)
        for sub in group.list_commands(ctx):
            cmd = group.get_command(ctx, sub)
            if isinstance(cmd, click.Group):
                yield from leaves(cmd, (*path, sub))
            else:
                yield (*path, sub)

    present = set(leaves(cli, ()))
    assert set(COMMANDS.values()) <= present, set(COMMANDS.values()) - present
    assert set(EXAMPLES) == set(COMMANDS)
    new = sorted(" ".join(p) for p in present - set(COMMANDS.values()))
    assert not new, f"not fuzzed: latentdyn {', latentdyn '.join(new)} (add it to OTHER_COMMANDS)"
    assert all(BASE[name] for name in STUDIES), "every registered study has a toy example"
