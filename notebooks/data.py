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
# **The paper's data** {cite}`drory2021resistance`: K-NN and network accuracy are measured on **MNIST**
# (60,000 training and 10,000 test images of handwritten digits, 28×28 grayscale; LeCun, Cortes and
# Burges, licensed CC BY-SA 3.0), **CIFAR-10** (50,000 + 10,000 colour images of 10 object classes, 32×32)
# and ImageNet through the features of a pretrained DenseNet-121 (1,000 classes). This book adds
# scikit-learn's 8×8 **digits** (1,797 images) for seconds-long test runs, and seeded **synthetic**
# Gaussian mixtures with any number of classes.
#
# `knnoise.data.load` returns each of them as one `Dataset` type; this chapter shows what is in it: the
# sizes, a few examples of every class, and how balanced the classes are. The parameters below are the
# ones this page was built with (the book's profile, see {doc}`../intro`); rerun it with others through
# `python -m knnoise.book --only data -p NAME VALUE`.

# %% tags=["parameters", "hide-input"]
dataset = "mnist"  # one of knnoise.data.DATASETS: digits, mnist, cifar10, features, synthetic
train_subset = None  # None: the whole training set; an int: a stratified random subset of that size
seed = 0  # seeds the subset and the examples shown
data_path = None  # features: the .npz file (required); cifar10: the folder above cifar-10-batches-py

# %% tags=["hide-input"]
# %matplotlib inline
from knnoise import plots
from knnoise.book import glue_figure, glue_values, setup
from knnoise.experiments import dataset_summary

p = setup("data", globals())

# %% [markdown]
# ## Sizes
#
# The whole dataset and the part of it the other chapters of this build use:

# %% tags=["hide-input"]
result = dataset_summary.run(p)
ds = result.dataset
print(ds)
result.sizes

# %% [markdown]
# ## Examples of every class
#
# ```{glue:figure} data_examples
# :name: fig-data-examples
#
# Examples of every class. {glue:text}`data_examples_shown`
#
# {download}`Data behind this figure (CSV) <results/data/data_examples.csv>`
# ```
#
# {numref}`fig-data-examples` shows what a classifier sees. For feature datasets, which have no images, it
# shows the first two principal components of the features instead.

# %% tags=["hide-input"]
if ds.is_image:
    glue_figure("data_examples", plots.example_grid(ds, per_class=10, seed=p.seed))
    glue_values(data_examples_shown=f"Random {ds.name} training examples, one row per class.")
else:
    glue_figure("data_examples", plots.feature_scatter(ds, seed=p.seed))
    shown = f"{ds.name} holds {ds.dim}-dimensional features, not images: a 2-D PCA projection."
    glue_values(data_examples_shown=shown)

# %% [markdown]
# ## Class balance
#
# ```{glue:figure} data_balance
# :name: fig-data-balance
#
# The share of each class in the training and the test set of {glue:text}`data_name`; the dashed line is
# a perfectly balanced $1/L$.
#
# {download}`Data behind this figure (CSV) <results/data/data_balance.csv>`
# ```
#
# Per split, the smallest and the largest class of {numref}`fig-data-balance`:

# %% tags=["hide-input"]
glue_figure("data_balance", plots.class_balance(ds))
glue_values(**{f"data_{name}": value for name, value in result.quoted().items()})
print("\n".join(result.balance_lines()))

# %% [markdown]
# ## What we see
#
# The digits are small, centred grayscale images whose classes are easy to tell apart by eye, and the
# classes are close to balanced: in {glue:text}`data_name` each class holds between
# {glue:text}`data_train_smallest_share:.1%` (class {glue:text}`data_train_smallest`) and
# {glue:text}`data_train_largest_share:.1%` (class {glue:text}`data_train_largest`) of the training set,
# and between {glue:text}`data_test_smallest_share:.1%` (class {glue:text}`data_test_smallest`) and
# {glue:text}`data_test_largest_share:.1%` (class {glue:text}`data_test_largest`) of the test set, against
# {glue:text}`data_balanced:.1%` for perfect balance.
#
# Balance matters for what follows: uniform label noise sends a corrupted example to each class with the
# same probability, so with near-equal classes no wrong class gains a systematic advantage in a K-NN vote,
# and the clean class stays the plurality until the noise is strong. Noise that is concentrated in one
# region of the input space, not class balance, is what later chapters show breaking that resistance.
