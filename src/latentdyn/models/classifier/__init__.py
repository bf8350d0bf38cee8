"""The CNN digit classifier of Nagano et al. (2017), Fig. B.2, as one family:

* :mod:`~latentdyn.models.classifier.network` -- :class:`ClassifierConfig` and
  :class:`CNNClassifier`;
* :mod:`~latentdyn.models.classifier.task` -- the network a run builds
  (:func:`build_classifier`) and :class:`ClassifierTask` (cross-entropy with Adam).
"""

from latentdyn.models.classifier.network import ClassifierConfig, CNNClassifier
from latentdyn.models.classifier.task import ClassifierTask, build_classifier
from latentdyn.models.family import Family

FAMILY = Family("classifier", build=build_classifier, task=ClassifierTask,
                network=CNNClassifier)

__all__ = ["FAMILY", "ClassifierConfig", "ClassifierTask", "CNNClassifier",
           "build_classifier"]
