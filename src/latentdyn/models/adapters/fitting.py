"""Does a model take a data set's images? The one check every command runs before it
uses a model on data (:func:`fit_data`)."""

from __future__ import annotations

from latentdyn.errors import ConfigError, LatentdynError


def recorded_dim(model) -> int | None:
    """The image width a model was built for (its config's ``input_dim``), if it says."""
    config = getattr(model, "config_dict", None)
    dim = (config() or {}).get("input_dim") if callable(config) else None
    return dim if isinstance(dim, int) and not isinstance(dim, bool) else None


def fit_data(model, data, what: str) -> None:
    """One line when the images of ``data`` are not the size ``model`` takes: the width
    its config records, else (a model that says nothing) what one encoding and decoding
    of two images makes of them. A model that takes images of any size
    (``fit_images``, e.g. a diffusers autoencoder) is fitted to the data set's shape
    first."""
    fit = getattr(model, "fit_images", None)
    if callable(fit) and getattr(model, "image_shape", None) is None:
        try:
            fit(tuple(data.image_shape))
        except LatentdynError as exc:
            raise ConfigError(f"{what}: {exc}") from None
    dim = recorded_dim(model)
    if dim is not None or not all(callable(getattr(model, m, None))
                                  for m in ("encode", "decode")):
        data.require_dim(dim, what)
        return
    from latentdyn.models.inference import decode_all, encode_all

    try:
        x = decode_all(model, encode_all(model, data.train_images[:2]))
    except LatentdynError as exc:
        raise ConfigError(f"{what}: {exc}") from None
    except (RuntimeError, ValueError, TypeError, IndexError) as exc:
        shape = "x".join(map(str, data.image_shape))
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"{what} cannot encode and decode the images of {data.name} "
                          f"({shape}, {data.dim} values): {reason}") from None
    if x.shape[1] != data.dim:
        raise ConfigError(f"{what} decodes images of {x.shape[1]} values, but those of "
                          f"{data.name} have {data.dim}")


__all__ = ["fit_data", "recorded_dim"]
