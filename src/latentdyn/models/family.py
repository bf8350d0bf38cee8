"""A model family: what ``latentdyn train --model KIND`` trains and ``load_run`` loads.

A family lives in one folder, ``models/<family>/``: its network, its network's config
dataclass and its training *task*, tied together by one :class:`Family` object
(``FAMILY = Family(...)`` in the folder's ``__init__.py``). One line of
:data:`latentdyn.models.registry.FAMILIES` names it; both "which task trains kind X"
(the training loop) and "how to build kind X" (``load_run``, ``build_model``) are read
from that one object.

``build(config, input_dim)`` makes the network a run of ``config`` trains (a run's
``TrainConfig``, read duck-typed: ``seed``, ``nz``, ``hidden``, ``model_options``, ...)
with its initial weights drawn from ``config.seed`` alone. Loading a run is ``build``
plus the saved weights: no task, no optimizer.

The task interface (duck-typed; see :class:`~latentdyn.models.vae.VAETask`):

* ``__init__(config, input_dim, device)`` (``inputs`` too, for a family that declares
  input runs, see below): build ``self.model`` (with the family's ``build``; it is
  what ``model.safetensors`` stores) and ``self.optimizers`` (name -> optimizer; all of
  their state is checkpointed).
* ``train_step(x, y, generator) -> Tensor``: one update; returns the detached scalar
  loss (checked for NaN, shown in the progress bar). Use only ``generator`` for noise.
* ``train_metrics(mean_loss) -> dict``: the epoch's training metrics.
* ``evaluate(x, y, generator) -> dict``: held-out metrics (deterministic).
* optional ``on_epoch_end(epoch, out) -> dict``: extra metrics / files per epoch.
* ``self.model.config_dict()`` records the model's shape, ``input_dim`` included.
* optional classmethod/staticmethod ``apply_defaults(config)``: set the kind's own
  defaults (e.g. its learning rate) in place before the run folder is checked.
* optional ``check_data(data)``: refuse a data set before any file is written.
* optional ``manifest_extra() -> dict``: extra manifest fields (e.g. input runs).

**Input runs.** A run may be built from other runs (the GAN's monitoring classifier;
the GAN encoder's frozen generator and classifier). The family declares them with
``inputs(config) -> {name: InputRun(kind, path)}``; the training layer loads each one
(refusing a missing run or one of another kind in one line), frozen and on the training
device, and hands them to the task as ``inputs`` (name -> :class:`InputRun` with
``model`` and ``source`` filled in). No family loads a run itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from latentdyn.errors import ConfigError


class InputRun(NamedTuple):
    """A run another run is built from: declared by its family (``kind``, ``path``),
    loaded by the training layer (``model``: frozen, eval mode; ``source``: its path
    and the md5 of its weights)."""

    kind: str
    path: str
    model: Any = None
    source: dict | None = None


def loaded_inputs(kind: str, declared: dict[str, InputRun],
                  inputs: dict[str, InputRun] | None) -> dict[str, InputRun]:
    """The loaded run of each ``declared`` input; one line when one was not handed in
    (a task made without the training layer, which loads them)."""
    inputs = dict(inputs or {})
    for name, run in declared.items():
        if getattr(inputs.get(name), "model", None) is None:
            raise ConfigError(f"{kind}: the input run {name} ({run.path}) was not loaded; "
                              "make the task with latentdyn.train.make_task, which loads it")
    return {name: inputs[name] for name in declared}


@dataclass(frozen=True)
class Family:
    """One trainable, loadable model family (see the module doc)."""

    kind: str
    build: Callable[[Any, int], Any]  # (run config, input_dim) -> nn.Module, seeded
    task: type  # the training task
    network: type | None = None  # the nn.Module class, with ``config_class``
    inputs: Callable[[Any], dict] | None = None  # (run config) -> {name: InputRun}

    def input_runs(self, config) -> dict[str, InputRun]:
        """The runs a run of ``config`` is built from ({} for most families)."""
        return dict(self.inputs(config)) if self.inputs is not None else {}

    def make_task(self, config, input_dim: int, device, inputs: dict | None = None):
        """The family's task; ``inputs`` (the loaded :meth:`input_runs`) go to the
        families that declare input runs."""
        if self.inputs is None:
            return self.task(config, input_dim, device)
        return self.task(config, input_dim, device, inputs=dict(inputs or {}))


__all__ = ["Family", "InputRun", "loaded_inputs"]
