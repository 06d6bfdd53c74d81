# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The data
#
# The paper measures K-NN and network accuracy on **MNIST** (60,000 training and 10,000 test images of
# handwritten digits, 28×28 grayscale; LeCun, Cortes and Burges, licensed CC BY-SA 3.0), **CIFAR-10**
# (50,000 + 10,000 colour images of 10 object classes, 32×32) and ImageNet through the features of a
# pretrained DenseNet-121 (1,000 classes). This book adds scikit-learn's 8×8 **digits** (1,797 images) for
# seconds-long test runs, and seeded **synthetic** Gaussian mixtures with any number of classes.
# `knnoise.data.load` returns each of them as one `Dataset` type; this chapter shows what is in it:
# the sizes, a few examples of every class, and how balanced the classes are.

# %% tags=["parameters"]
dataset = "mnist"  # one of knnoise.data.DATASETS: digits, mnist, cifar10, features, synthetic
train_subset = None  # None: the whole training set; an int: a stratified random subset of that size
seed = 0  # seeds the subset and the examples shown
data_path = None  # features: the .npz file (required); cifar10: the folder above cifar-10-batches-py

# %%
# %matplotlib inline
from IPython.display import display

from knnoise import data, plots

if dataset not in data.DATASETS:
    raise ValueError(f"dataset must be one of {data.DATASETS}, got {dataset!r}")
if train_subset is not None and (
    isinstance(train_subset, bool) or not isinstance(train_subset, int) or train_subset < 1
):
    raise ValueError(f"train_subset must be None or a positive integer, got {train_subset!r}")
if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
    raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
if dataset == "features" and data_path is None:
    raise ValueError('dataset="features" needs data_path: an .npz with x_train, y_train, x_test, y_test')
if data_path is not None and dataset not in ("features", "cifar10"):
    raise ValueError(f"data_path is only used by the features and cifar10 datasets, not {dataset!r}")

options = {"features": {"path": data_path}, "cifar10": {"root": data_path}}.get(dataset, {})
options = {k: v for k, v in options.items() if v is not None}
parameters = {"dataset": dataset, "train_subset": train_subset, "seed": seed, "data_path": data_path}
print("Parameters:")
for key, value in parameters.items():
    print(f"  {key:<13}{value!r}")

# %% [markdown]
# ## Sizes

# %%
import pandas as pd

full = data.load(dataset, **options)
ds = full.subset(n_train=train_subset, seed=seed) if train_subset is not None else full
print(ds)
sizes = pd.DataFrame(
    {
        "training examples": [full.n_train, ds.n_train],
        "test examples": [full.n_test, ds.n_test],
        "classes": [full.n_classes, ds.n_classes],
        "example shape": [str(full.image_shape or (full.dim,))] * 2,
        "stored as": [str(full.x_train.dtype)] * 2,
    },
    index=["whole dataset", "used here"],
)
display(sizes)

# %% [markdown]
# ## Examples of every class
#
# Random training examples, one row per class (for feature datasets, which have no images, the first two
# principal components of the features instead).

# %%
if ds.is_image:
    figure = plots.example_grid(ds, per_class=10, seed=seed)
else:
    print(f"{ds.name} holds {ds.dim}-dimensional features, not images: showing a 2-D PCA projection.")
    figure = plots.feature_scatter(ds, seed=seed)
display(figure)

# %% [markdown]
# ## Class balance

# %%
display(plots.class_balance(ds))
for split in ("train", "test"):
    counts = ds.class_counts(split)
    share = counts / counts.sum()
    print(
        f"{split:>5}: smallest class {ds.class_names[share.argmin()]!r} {share.min():.1%}, "
        f"largest {ds.class_names[share.argmax()]!r} {share.max():.1%} (balanced: {1 / ds.n_classes:.1%})"
    )

# %% [markdown]
# ## What we see
#
# The digits are small, centred grayscale images whose classes are easy to tell apart by eye, and the
# classes are close to balanced: in MNIST each digit holds between about 9% (the fives) and 11% (the ones)
# of the training and of the test set. Balance matters for what follows: uniform label noise sends a
# corrupted example to each class with the same probability, so with near-equal classes no wrong class
# gains a systematic advantage in a K-NN vote, and the clean class stays the plurality until the noise is
# strong. Noise that is concentrated in one region of the input space, not class balance, is what later
# chapters show breaking that resistance.
