"""What the training loop calls as it goes: :class:`Callback` and its progress reporters.

:func:`latentdyn.train.loop.fit` calls every callback it is given at fixed points of
training, so that what is not training itself (a progress bar, a sample grid, a
snapshot, a test that stops a run at a chosen step) is added without touching the loop.
A callback overrides the hooks it needs; the rest do nothing:

* ``on_epoch_start(epoch, epochs)`` -- before the first step of 0-based ``epoch``;
* ``on_step_end(epoch, step)`` -- after optimisation step ``step`` (0-based) of ``epoch``;
* ``on_advance(steps_done, steps, active, losses)`` -- every few steps (the loop's NaN
  check), with the detached losses of those steps;
* ``on_epoch_end(epoch, members)`` -- after ``epoch`` (0-based) ended and each member's
  metrics row was added (``member.rows[-1]``), before its checkpoint is written;
* ``close()`` -- when training ends, also on an error.

A callback that raises stops training as an interruption does: each member keeps its last
checkpoint, and resuming replays from there to the same weights.
"""

from __future__ import annotations

from tqdm.auto import tqdm


class Callback:
    """A hook of the training loop (every method optional; see the module's text)."""

    def on_epoch_start(self, epoch: int, epochs: int) -> None: ...

    def on_step_end(self, epoch: int, step: int) -> None: ...

    def on_advance(self, steps_done: int, steps: int, active: int, losses) -> None: ...

    def on_epoch_end(self, epoch: int, members: list) -> None: ...

    def close(self) -> None: ...

    @classmethod
    def wants_steps(cls) -> bool:
        """Whether this callback looks at every step (the loop skips the call if not)."""
        return cls.on_step_end is not Callback.on_step_end


class BarProgress(Callback):
    """A tqdm bar over the steps of one run, with the loss and the epoch's metrics."""

    def __init__(self, epochs: int, steps: int, start: int):
        self.bar = tqdm(total=epochs * steps, initial=start * steps, unit="step",
                        dynamic_ncols=True, leave=True)

    def on_epoch_start(self, epoch, epochs):
        self.bar.set_description(f"epoch {epoch + 1}/{epochs}")

    def on_advance(self, steps_done, steps, active, losses):
        self.bar.update(steps_done)
        self.bar.set_postfix(loss=f"{float(losses.mean()):.2f}")

    def on_epoch_end(self, epoch, members):
        self.bar.set_postfix({k: f"{v:.2f}" for k, v in members[0].rows[-1].items()
                              if k.startswith(("train_", "test_")) and v is not None})

    def close(self):
        self.bar.close()


class CallbackProgress(Callback):
    """``callback(model_epochs)`` with the finished model-epochs (fractions too)."""

    def __init__(self, callback):
        self.callback = callback

    def on_advance(self, steps_done, steps, active, losses):
        self.callback(active * steps_done / steps)


class StopAt(Callback):
    """Raise ``exception`` after step ``step`` of 0-based ``epoch``: an interruption at a
    chosen point (what the tests of exact resumption use instead of a timed kill)."""

    def __init__(self, epoch: int, step: int, exception: BaseException | None = None):
        self.epoch, self.step = epoch, step
        self.exception = exception if exception is not None else KeyboardInterrupt()

    def on_step_end(self, epoch, step):
        if (epoch, step) == (self.epoch, self.step):
            raise self.exception


__all__ = ["BarProgress", "Callback", "CallbackProgress", "StopAt"]
