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
# # Fig. 1: the same amount of noise, spread or concentrated
#
# **The paper's claim** {cite}`drory2021resistance`: the *type* of label noise matters as much as its
# amount. Relabel a randomly chosen 20% of MNIST's training examples and a network trained on them still
# reaches about 100% test accuracy; relabel 20% that are *locally concentrated* — whole groups of similar
# examples given the same wrong label — and it reaches only about 80%. The paper shows this with the
# network's deep features embedded in 2-D by t-SNE {cite}`maaten2008tsne`, each point
# coloured by the label the training set gives it.
#
# Here: the penultimate-layer features (256-d) of the network trained on *clean* labels — the same cached
# network as in the other chapters — for a stratified subset of the **training** examples, embedded once
# with t-SNE and drawn twice: coloured by the labels after uniform noise and after locally concentrated
# noise of the same level. We embed training examples rather than test examples because noisy labels
# exist only on the training set: each point's colour is exactly the label the network was trained on,
# with no proxy needed. The parameters below are the ones this page was built with (the book's profile,
# see {doc}`../intro`); rerun it with others through
# `python -m knnoise.book --only fig1_concentration -p NAME VALUE`.

# %% tags=["parameters", "hide-input"]
dataset = "mnist"  # mnist or digits (the MNIST net); cifar10 needs model "allcnnc"
data_path = None  # cifar10: the folder above cifar-10-batches-py
train_subset = 6000  # training images used (stratified); None for all (the paper)
test_subset = None  # test images used; None for all
model = "mnist"  # mnist: the paper's MNIST net; allcnnc: All-CNN-C for CIFAR-10
epochs = 3  # training epochs (best clean-validation epoch kept); the paper: 20 (MNIST), 60 (CIFAR-10)
lr = 0.003  # Adam learning rate; the paper: 0.01 (MNIST), 0.007 (CIFAR-10)
lr_halving_every = None  # halve the learning rate every this many epochs; the paper: 10 (MNIST), 30
gamma = 0.2  # noise level of both panels (fraction of training examples selected for corruption)
tsne_points = 2000  # training examples embedded with t-SNE (a stratified subset); None for all
perplexity = 30.0  # t-SNE perplexity (capped below a third of the points)
neighbours = 10  # K of the neighbourhood statistics in the table below the figure
seed = 0  # seeds subsets, noise draws, networks and t-SNE
device = "auto"  # auto (a GPU when present), cpu or cuda
scheduler = None  # a Dask scheduler address (the runner's --workers/--scheduler); None: in this kernel

# %% tags=["hide-input"]
# %matplotlib inline
from knnoise import plots
from knnoise.book import glue_figure, glue_values, record, setup
from knnoise.experiments import fig1_concentration as fig1
from knnoise.pipeline import engine

p = setup("fig1_concentration", globals())

# %% [markdown]
# ## The clean network and the two noisy training sets
#
# Uniform noise selects $\gamma N$ training examples at random and redraws each label uniformly from all
# $L$ classes, so about $\gamma (L-1)/L$ of the labels actually change. Locally concentrated noise
# follows the paper's construction: per class, k-means with $k = 1/\gamma$ on the clean network's
# penultimate features, and the cluster closest to a $\gamma$ share of the class relabelled to the class's
# alternative $(c + L/2) \bmod L$ — so its achieved noise level is close to, not exactly, $\gamma$ (here
# uniform noise selected {glue:text}`fig1_uniform_selected:.1%` of the training examples and changed
# {glue:text}`fig1_uniform_changed:.1%` of the labels; the concentrated construction relabelled
# {glue:text}`fig1_concentrated_changed:.1%`). A network is trained on each noisy set (early stopping on
# clean validation labels) and scored on the clean test set; the clean network reaches
# {glue:text}`fig1_clean_accuracy:.4f` there (trained on {glue:text}`fig1_device`). Per noisy training set:

# %% tags=["hide-input"]
with engine.executor(p.scheduler) as executor:  # None: the networks train in this kernel
    nets = fig1.networks(p, executor=executor)
glue_values(**{f"fig1_{name}": value for name, value in nets.quoted().items()})
glue_values(fig1_device=nets.clean_net.device)
for claim in nets.claims():
    record("fig1_concentration", *claim)
print(nets.dataset)
nets.summary.round(4)

# %% [markdown]
# ## One embedding, two labellings

# %% tags=["hide-input"]
emb = fig1.embed(p, nets)
glue_figure("fig1_tsne", plots.embedding_panels(**emb.figure(nets)))
glue_values(fig1_tsne_points=f"{len(emb.rows):,}", fig1_tsne_dim=emb.n_features)
glue_values(fig1_tsne_seconds=emb.seconds)

# %% [markdown]
# ```{glue:figure} fig1_tsne
# :name: fig-tsne-noise
#
# {glue:text}`fig1_tsne_points` training examples, placed by t-SNE from the clean network's
# {glue:text}`fig1_tsne_dim`-d features ({glue:text}`fig1_tsne_seconds:.1f` s); the large digit marks the
# median position of each true class. Colour: the label the noisy training set gives each point — left
# after uniform noise, right after locally concentrated noise. Black outline: the label was changed by the
# noise. Both panels show the *same* points in the *same* places; only the labels differ. Each panel's
# title gives the clean test accuracy of a network trained on that noisy training set.
#
# {download}`Data behind this figure (CSV) <results/fig1_concentration/fig1_tsne.csv>`
# ```
#
# ## How local is the noise?
#
# {numref}`fig-tsne-noise` in numbers, on the whole training set and in the full feature space: for each
# example whose label the noise changed, how many of its nearest training examples (by the clean
# network's features) were changed too, and does the plurality of its neighbours' *noisy* labels still
# give its true class — what a K-NN vote around it would see.

# %% tags=["hide-input"]
local = fig1.locality(p, nets)
glue_values(**{f"fig1_{name}": value for name, value in fig1.locality_quoted(local).items()})
glue_values(fig1_k=p.neighbours)
local.round(3)

# %% [markdown]
# ## What we see
#
# With uniform noise the relabelled examples are scattered through every class cluster of
# {numref}`fig-tsne-noise`: each sits among neighbours that are mostly correctly labelled (of its
# {glue:text}`fig1_k` nearest, {glue:text}`fig1_uniform_changed_nearby:.2f` on average were relabelled,
# about the overall share $\gamma (L-1)/L$, as for any example), their plurality label is its true class
# (for {glue:text}`fig1_uniform_plurality_true:.0%` of them), and a network trained on this set — like a
# K-NN voting over a neighbourhood — averages the noise away: its clean test accuracy is
# {glue:text}`fig1_uniform_accuracy:.3f` at $\gamma$ = {glue:text}`fig1_gamma:g`, against
# {glue:text}`fig1_clean_accuracy:.3f` for the clean network. With the same share of locally concentrated
# noise the relabelled examples form whole patches of a cluster with one wrong label: most of their
# neighbours are relabelled as well ({glue:text}`fig1_concentrated_changed_nearby:.2f` of
# {glue:text}`fig1_k`), the neighbourhood's plurality is the true class for only
# {glue:text}`fig1_concentrated_plurality_true:.0%` of them, and the network learns the wrong label. Its
# test accuracy falls to {glue:text}`fig1_concentrated_accuracy:.3f`, about $1 - \gamma$, as in the
# paper's Fig. 1 (about 80% at $\gamma = 0.2$): it has no resistance to noise it cannot average away. The
# amount of noise is the same; its concentration decides whether it is resisted.
