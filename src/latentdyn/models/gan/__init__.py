"""The DCGAN of SPEC §3 and the encoder trained on its frozen generator, as two
families in one folder:

* :mod:`~latentdyn.models.gan.network` -- :class:`GANConfig`, the generator, the
  discriminator and :class:`GAN`;
* :mod:`~latentdyn.models.gan.encoder` -- :class:`EncoderConfig` and
  :class:`GANEncoder` (E plus a frozen copy of G: the encode/decode protocol);
* :mod:`~latentdyn.models.gan.task` -- :class:`GANTask` (``--model gan``): alternating
  D and G steps, per-epoch sample grids, collapse and divergence checks;
* :mod:`~latentdyn.models.gan.encoder_task` -- :class:`EncoderTask`
  (``--model gan-encoder``): E trained on the frozen G and a frozen classifier.
"""

from latentdyn.models.family import Family
from latentdyn.models.gan.encoder import EncoderConfig, GANEncoder
from latentdyn.models.gan.encoder_task import EncoderTask, build_encoder, encoder_inputs
from latentdyn.models.gan.network import GAN, GANConfig
from latentdyn.models.gan.task import GANTask, build_gan, gan_inputs

FAMILY = Family("gan", build=build_gan, task=GANTask, network=GAN, inputs=gan_inputs)
ENCODER_FAMILY = Family("gan-encoder", build=build_encoder, task=EncoderTask,
                        network=GANEncoder, inputs=encoder_inputs)

__all__ = ["ENCODER_FAMILY", "FAMILY", "EncoderConfig", "EncoderTask", "GAN", "GANConfig",
           "GANEncoder", "GANTask"]
