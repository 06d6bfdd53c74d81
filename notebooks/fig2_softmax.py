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
# # Fig. 2: the softmax follows the neighbourhood's label distribution
#
# **The paper's claim** {cite}`drory2021resistance`: a network trained on noisy labels outputs, for a
# test example, roughly the distribution of the (noisy) labels of the training examples around it. With
# uniform noise at level $\gamma$ the softmax is about $\gamma / L$ on every wrong class; with flip noise
# the probability mass sits on the true class and its flip target, the latter at about $\gamma$. Only the
# plurality label of the neighbourhood decides the prediction — the starting point of the K-NN analysis.
#
# Here: the networks trained for Fig. 4 (the same cached networks when the parameters match), their
# softmax on the clean test set, each row reordered so that the true label comes first. The parameters
# below are the ones this page was built with (the book's profile, see {doc}`../intro`); rerun it with
# others through `python -m knnoise.book --only fig2_softmax -p NAME VALUE`.

# %% tags=["parameters", "hide-input"]
dataset = "mnist"  # mnist or digits (the MNIST net); cifar10 needs model "allcnnc"
data_path = None  # cifar10: the folder above cifar-10-batches-py
train_subset = 6000  # training images used (stratified); None for all (the paper)
test_subset = None  # test images used; None for all
model = "mnist"  # mnist: the paper's MNIST net; allcnnc: All-CNN-C for CIFAR-10
epochs = 3  # training epochs (best clean-validation epoch kept); the paper: 20 (MNIST), 60 (CIFAR-10)
lr = 0.003  # Adam learning rate; the paper: 0.01 (MNIST), 0.007 (CIFAR-10)
lr_halving_every = None  # halve the learning rate every this many epochs; the paper: 10 (MNIST), 30
uniform_gammas = [0.5, 0.8]  # uniform noise levels shown
flip_gammas = [0.3, 0.45]  # flip noise levels shown
concentrated_gammas = [0.25, 0.5]  # locally concentrated noise levels shown
seed = 0  # seeds subsets, noise draws and networks
device = "auto"  # auto (a GPU when present), cpu or cuda
scheduler = None  # a Dask scheduler address (the runner's --workers/--scheduler); None: in this kernel

# %% tags=["hide-input"]
# %matplotlib inline
from knnoise import plots
from knnoise.book import glue_figure, glue_values, record, setup
from knnoise.experiments import fig2_softmax
from knnoise.pipeline import engine

p = setup("fig2_softmax", globals())

# %% [markdown]
# ## The networks
#
# The clean network (test accuracy {glue:text}`fig2_clean_accuracy:.4f`) and one network per noise model
# and level, each trained on {glue:text}`fig2_n_train` images with early stopping on clean validation
# labels; cached, so a rerun or Fig. 4 with the same parameters loads them.

# %% tags=["hide-input"]
with engine.executor(p.scheduler) as executor:  # None: the networks train in this kernel
    result = fig2_softmax.run(p, executor=executor)
glue_values(fig2_clean_accuracy=result.clean_net.test_accuracy, fig2_n_train=f"{result.dataset.n_train:,}")
print(result.dataset)

# %% [markdown]
# ## The softmax, true label first
#
# ```{glue:figure} fig2_profile
# :name: fig-softmax-profile
#
# Bars: the median softmax output over the test examples at each class position (the true label,
# outlined, first; then label + 1, label + 2, …, so position +1 is the flip target and
# +{glue:text}`fig2_alternative` the concentrated noise's alternative class). Whiskers: the central 50% of
# test examples. Red: the label distribution of a neighbourhood under the noise model (uniform:
# $1-\gamma+\gamma/L$ and $\gamma/L$; flip: $1-\gamma$ and $\gamma$).
#
# {download}`Data behind this figure (CSV) <results/fig2_softmax/fig2_profile.csv>`
# ```
#
# Per network of {numref}`fig-softmax-profile`, the median softmax on the true class, on the other
# classes and on the class the noise sends labels to, and the fraction of test examples predicted as
# that class:

# %% tags=["hide-input"]
glue_figure("fig2_profile", plots.softmax_profile(result.panels, expected=result.expected, ncols=3))
glue_values(fig2_alternative=result.dataset.n_classes // 2)
glue_values(**{f"fig2_{kind}": text for kind, text in result.quoted().items()})
for claim in result.claims():
    record("fig2_softmax", *claim)
result.table.round(3)

# %% [markdown]
# ## What we see
#
# Trained on noisy labels, the network does not output a confident one-hot vector: its softmax spreads
# probability the way the noisy labels around a test example are spread — roughly evenly over the wrong
# classes under uniform noise (median softmax, {glue:text}`fig2_uniform`), and onto the one flip target
# under flip noise, growing with $\gamma$ ({glue:text}`fig2_flip`) — while the true class keeps the
# largest share as long as it is the plurality.
#
# Under locally concentrated noise the typical (median) test example looks clean, and the damage is
# concentrated in the examples of the corrupted regions, which the network confidently assigns to the
# alternative class: the fraction predicted as the alternative tracks $\gamma$
# ({glue:text}`fig2_concentrated`). How closely the levels match depends on training: a network stopped
# early on clean validation labels smooths less than the ideal neighbourhood histogram.
