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
# # Beyond the paper: accuracy against the concentration of the noise
#
# **The paper's title as a curve.** The paper compares two extremes: randomly spread noise, which K-NN
# and networks resist, and locally concentrated noise, which costs about $\gamma$ of the accuracy. Here
# the *same* amount of noise $\gamma$ is moved continuously from one extreme to the other with a
# concentration knob $\kappa \in [0, 1]$ (`knnoise.noise.partially_concentrated`): for each class, a share
# $\kappa$ of its corrupted examples is one compact region (the nearest class-mates of a random anchor)
# and the rest is spread at random over the class; all are relabelled to the class's alternative
# $(c + L/2) \bmod L$. $\kappa = 0$ is randomly spread flip noise, $\kappa = 1$ locally concentrated noise.
#
# The analytic prediction needs one change: Eq. 3 with each test example's **local** noise rate — the
# corrupted fraction of its own K neighbours — instead of the global $\gamma$, averaged over the test set
# (`knnoise.theory.expected_accuracy_local`). The parameters below are the ones this page was built with
# (the book's profile, see {doc}`../intro`); rerun it with others through
# `python -m knnoise.book --only concentration -p NAME VALUE`.

# %% tags=["parameters", "hide-input"]
dataset = "mnist"  # digits or mnist: K-NN on the pixels, the knob's regions in the same space
knn_train_subset = None  # training images for the K-NN part; None for all
test_subset = None  # test images; None for all
gammas = [0.3, 0.5]  # the fixed noise levels (fraction of each class relabelled)
concentrations = [0.0, 0.25, 0.5, 0.75, 1.0]  # the knob's settings
ks = [1, 5, 25, 51]  # K of the K-NN
repeats = 2  # independent draws (anchors, spread examples) per setting
ties = "lowest"  # the vote's tie rule, used by the analytic prediction too
dnn = True  # also train networks (the cheap setting below) at the first gamma
train_subset = 6000  # training images for the networks (the Fig. 4 settings, so the clean net is shared)
epochs = 3  # network training epochs
lr = 0.003  # Adam learning rate
dnn_concentrations = [0.0, 0.5, 1.0]  # knob settings for the networks
seed = 0  # seeds subsets, anchors and networks
device = "auto"  # auto (a GPU when present), cpu or cuda
scheduler = None  # a Dask scheduler address (the runner's --workers/--scheduler); None: in this kernel

# %% tags=["hide-input"]
# %matplotlib inline
from knnoise import plots
from knnoise.book import glue_figure, glue_values, record, setup
from knnoise.experiments import concentration_knob
from knnoise.pipeline import engine

p = setup("concentration", globals())

# %% [markdown]
# ## K-NN: measured, local-rate analytic, and the paper's two extremes
#
# K-NN on the pixels: one neighbour graph, then for every noise level, knob setting and draw the measured
# vote (tie rule `ties`) and Eq. 1–3 with each test example's local noise rate. Means over the draws
# (`local rate, std`: how unevenly the noise falls on the test examples' neighbourhoods):

# %% tags=["hide-input"]
knn = concentration_knob.knn_sweep(p)
print(knn.dataset)
knn.table().round(3)

# %% [markdown]
# ## Networks (a cheap setting)
#
# The same knob in the penultimate-feature space of the network trained on clean labels (the space the
# paper uses for its concentrated noise), with the Fig. 4 training settings so the clean network is
# shared; one network per setting at the first noise level.

# %% tags=["hide-input"]
with engine.executor(p.scheduler) as executor:  # None: the networks train in this kernel
    nets = concentration_knob.networks(p, executor=executor)
nets.round(3)

# %% [markdown]
# ## From spread to concentrated

# %% tags=["hide-input"]
glue_figure("concentration_knob", plots.concentration_curves(**knn.figure(nets)))
glue_values(**{f"concentration_{name}": value for name, value in knn.quoted().items()})

# %% [markdown]
# ```{glue:figure} concentration_knob
# :name: fig-concentration-knob
#
# Accuracy against the concentration κ of the same noise, one panel per noise level $\gamma$. Lines:
# Eq. 1–3 with each test example's local noise rate (its K neighbours' corrupted fraction), one colour per
# K; markers: the measured K-NN accuracy (mean ± sd over the draws); dashed: $1-\gamma$, the paper's
# prediction for concentrated noise; black squares: networks.
#
# {download}`Data behind this figure (CSV) <results/concentration/concentration_knob.csv>`
# ```
#
# The paper's two extremes beside the measured accuracy at the two ends of the knob, per noise level and K:

# %% tags=["hide-input"]
for claim in knn.claims():
    record("concentration", *claim)
knn.summary().round(3)

# %% [markdown]
# ## What we see
#
# At $\kappa = 0$ the noise is randomly spread flip noise and the measured accuracy sits at the paper's
# randomly spread prediction: below $\gamma = 1/2$ a large-K vote removes almost all of the noise (at
# $\gamma$ = {glue:text}`concentration_gamma:g`, K = {glue:text}`concentration_k_big:d`:
# {glue:text}`concentration_spread_measured:.3f` measured, {glue:text}`concentration_spread_analytic:.3f`
# from Eq. 3 with the global $\gamma$). As the same noise is gathered into compact regions, the accuracy
# falls steadily to about $1 - \gamma$, the paper's concentrated prediction
# ({glue:text}`concentration_concentrated_measured:.3f` at the knob's end, against
# {glue:text}`concentration_floor:.2f`; on MNIST pixels a large K ends a little below it, since a compact
# corrupted region also outvotes clean examples at its border). A test example is then either in a clean
# neighbourhood or in a corrupted one, and averaging within the neighbourhood no longer helps. The larger
# K, the more it gains from spread noise and the more it loses as the noise concentrates; K = 1 cannot
# average and stays near $1 - \gamma$ throughout (K = {glue:text}`concentration_k_small:d`:
# {glue:text}`concentration_k1_concentrated:.3f` at the knob's end). At $\gamma = 1/2$ flip noise is
# already at its breaking point, so concentration has nothing left to take.
#
# The local-rate generalisation of Eq. 3 tracks the measurements over the whole range of
# {numref}`fig-concentration-knob` (largest |measured − local-rate analytic| over all settings
# {glue:text}`concentration_gap_max:.3f`, mean {glue:text}`concentration_gap_mean:.3f`), which the global
# $\gamma$ cannot: it is the neighbourhood's own noise rate, not the dataset's, that decides the vote. The
# networks lose accuracy too as the noise concentrates, less steeply than a large-K vote.
