"""The DNN half of the paper's experiments (Sec. 5, Fig. 2 and Fig. 4): the networks, training on noisy
labels with early stopping on clean validation labels, and the on-disk cache of trained networks.

- :mod:`knnoise.dnn.models`: the MNIST net and All-CNN-C with their 256-d feature layer; ``build_model``;
- :mod:`knnoise.dnn.densenet`: DenseNet-121 as the ImageNet feature extractor (torchvision, lazily);
- :mod:`knnoise.dnn.options`: :class:`TrainOptions`, the training options as one checked value;
- :mod:`knnoise.dnn.training`: :func:`train` (:func:`train_with`: the same with a ready
  :class:`TrainOptions`) and :data:`PAPER_SCHEDULES`; one trainer for every run
  (:mod:`knnoise.dnn._trainer`, a lone network is a group of one; the epoch steps in
  :mod:`knnoise.dnn.loop`); :mod:`knnoise.dnn.result`: :class:`TrainResult`;
- :mod:`knnoise.dnn.devices`: :func:`pick_device`; :mod:`knnoise.dnn.deadlines`: :func:`deadline` (training
  runs that would end after it stop early with :class:`OutOfTime`);
- :mod:`knnoise.dnn.cached`: :func:`train_cached`, :func:`is_cached` (joblib under ``$KNNOISE_CACHE``,
  one entry per network keyed by :func:`~knnoise.dnn.cached.cache_key`);
- :mod:`knnoise.dnn.grouped`: :func:`train_group` (:func:`train_group_with`; many networks as one stacked
  model, cached per network), :func:`group_size`.

Importing this package imports torch, never torchvision.
"""

from knnoise.dnn.cached import is_cached, train_cached
from knnoise.dnn.deadlines import OutOfTime, deadline
from knnoise.dnn.densenet import DenseNet121, densenet121_features
from knnoise.dnn.devices import pick_device
from knnoise.dnn.grouped import group_size, train_group, train_group_with
from knnoise.dnn.models import FEATURE_DIM, MODELS, AllCNNC, MnistNet, build_model
from knnoise.dnn.options import TrainOptions
from knnoise.dnn.result import TrainResult
from knnoise.dnn.training import PAPER_SCHEDULES, train, train_with

__all__ = [
    "FEATURE_DIM",
    "MODELS",
    "PAPER_SCHEDULES",
    "AllCNNC",
    "DenseNet121",
    "MnistNet",
    "OutOfTime",
    "TrainOptions",
    "TrainResult",
    "build_model",
    "deadline",
    "densenet121_features",
    "group_size",
    "is_cached",
    "pick_device",
    "train",
    "train_cached",
    "train_group",
    "train_group_with",
    "train_with",
]
