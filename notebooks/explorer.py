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
# # Explorer: Theorem 1 for any K, noise model and clean distribution (beyond the paper)
#
# **What the paper's theory says** {cite}`drory2021resistance`: given the distribution $C_s$ of a
# neighbour's clean label, the noise model (a corruption matrix $P$ and the fraction $\gamma$ of labels
# selected for corruption) fixes the distribution $q$ of its observed label (Eq. 3), and Theorem 1 gives
# the probability that the true label wins a vote of $K$ such labels (Eq. 2); averaged over the test set,
# the expected accuracy (Eq. 1). The paper draws a few of these curves. This page computes them for every
# $K$ from 1 to {glue:text}`explorer_k_max`, three noise models, three tie rules and several clean
# distributions, and lets you move between them in the browser: no kernel runs, every curve was computed
# when the book was built (the parameters below; rerun with others through
# `python -m knnoise.book --only explorer -p NAME VALUE`).

# %% tags=["parameters", "hide-input"]
dataset = "mnist"  # the network's and the K-NN's data: mnist or digits (the MNIST net)
data_path = None  # cifar10: the folder above cifar-10-batches-py
train_subset = 6000  # the network's training images (as fig4_dnn, so its cached network is reused)
test_subset = None  # test images; None for all
model = "mnist"  # the network trained on clean labels (as fig4_dnn)
epochs = 3  # its training epochs (as fig4_dnn)
lr = 0.003  # its Adam learning rate (as fig4_dnn)
lr_halving_every = None  # as fig4_dnn
seed = 0  # seeds the subsets, the network, the test sample and the general corruption matrix
device = "auto"  # auto (a GPU when present), cpu or cuda
k_max = 101  # curves for every K from 1 to k_max
n_gammas = 41  # noise levels from 0 to 1
confidences = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]  # ideal neighbourhoods: the true label's probability
n_examples = 300  # test examples behind the network and K-NN curves (a seeded sample); None: all
knn_train_subset = None  # training images the K-NN neighbourhoods are taken among; None: all

# %% tags=["hide-input"]
# %matplotlib inline
import numpy as np

from knnoise import plots
from knnoise.book import glue_figure, glue_values, setup
from knnoise.experiments import explorer
from knnoise.plots import interactive

p = setup("explorer", globals())

# %% [markdown]
# ## The clean distributions
#
# * **Ideal neighbourhoods**: the true label has probability $c$ (the confidence knob), the other
#   $L - 1$ labels share $1 - c$ evenly. $c = 1$ is the one-hot case of {doc}`theory`.
# * **The network's softmax**: the $C_s$ of {doc}`fig4_dnn`, the softmax of the {glue:text}`explorer_name`
#   network trained on clean labels (test accuracy {glue:text}`explorer_net_accuracy:.3f`), on a seeded
#   sample of {glue:text}`explorer_n_examples` test examples.
# * **K-NN neighbourhoods**: the $C_s$ of {doc}`fig3_knn`, the label histogram of each sampled test
#   example's $K$ nearest training images (pixels), a different $C_s$ for every $K$.
#
# Noise models: uniform (a selected label is redrawn uniformly over all $L$ labels, so only
# $\gamma (L-1)/L$ of the labels change), flip ($c \to c + 1 \bmod L$) and the random general corruption
# matrix of {doc}`fig4_dnn`. Tie rules: `strict` (the paper: a tie for first place is wrong), `random`
# and `lowest` (scikit-learn's K-NN).

# %% tags=["hide-input"]
ks = list(range(1, p.k_max + 1))
gammas = np.linspace(0.0, 1.0, p.n_gammas)
found, name = explorer.sources(p, ks)
grid = explorer.grid(found, gammas, ks, seed=p.seed)
large_k = explorer.limit(found, gammas, seed=p.seed)
marks = explorer.thresholds(found[0].clean.shape[-1], seed=p.seed)
network = next(s for s in found if s.key == "network")
glue_values(
    explorer_k_max=p.k_max, explorer_name=name, explorer_n_examples=len(network.labels),
    explorer_net_accuracy=float(np.mean(network.clean.argmax(axis=1) == network.labels)),
    explorer_curves=len(grid) // p.n_gammas, explorer_general=marks.gamma.iloc[-1],
)  # fmt: skip

# %% [markdown]
# ## The curves
#
# {numref}`fig-explorer-default` shows one view: the network's softmax as $C_s$, strict ties, a few $K$.
# The interactive chart below it holds all {glue:text}`explorer_curves:,d` curves: pick the clean
# distribution, the confidence $c$ of the ideal one, the noise model, the tie rule and $K$ with the
# controls under the chart, and hover a point to read its value. The dashed grey line is the large-$K$
# limit: the share of test examples whose true label is still the most likely one in $q$, which every
# curve approaches as $K$ grows. The red line marks the noise level the paper names for the model:
# uniform noise is resisted until about 90%, flip noise until the "reversal of roles" at 1/2 (Sec. 4);
# for the general matrix, the first $\gamma$ at which another label overtakes a true one in a clean
# one-hot neighbourhood ({glue:text}`explorer_general:.3f` for this matrix).
#
# ```{glue:figure} explorer_grid
# :name: fig-explorer-default
#
# Eq. 1–3 with the clean network's softmax as $C_s$ under each noise model, one line per K (strict ties);
# the static view of the interactive chart below, for print and for readers without JavaScript.
#
# {download}`Data: every curve of this figure and the chart (CSV) <results/explorer/explorer_grid.csv>`
# ```

# %% tags=["hide-input"]
shown = [k for k in dict.fromkeys((1, 5, 25, p.k_max)) if k <= p.k_max]
default = grid[(grid.source == "network") & (grid.ties == "strict") & grid.K.isin(shown)]
table = default.pivot_table(index="gamma", columns=["noise", "K"], values="accuracy")
panels = {f"{noise} noise": table[noise][shown].to_numpy() for noise in explorer.NOISES}
# the figure's CSV: every curve of the chart (the figure's are those with source network, ties strict)
glue_figure("explorer_grid", plots.accuracy_curves(gammas, panels, shown), data=explorer.table(grid, large_k))
names = {"ideal": "ideal neighbourhoods", "network": f"{name} network softmax", "knn": f"{name} K-NN"}
interactive.html(interactive.explorer_chart(grid, large_k, marks, gammas, names=names), "explorer")

# %% [markdown]
# {download}`Data behind the chart (CSV) <results/explorer/explorer_grid.csv>`: Eq. 1 and the large-K limit
# for every clean distribution, noise model, tie rule, K and γ.

# %% [markdown]
# ## What to look for
#
# * **K sharpens everything.** At $K = 1$ the accuracy is the true label's share of $q$ and falls
#   linearly; as $K$ grows each curve tends to the dashed limit, a step at the noise level where the true
#   label stops being the most likely one.
# * **Where the noise goes decides the step.** Uniform noise spreads over every label, so the true label
#   stays the most likely one almost to $\gamma = 1$; flip noise piles onto one label, which overtakes the
#   true one at $\gamma = 1/2$, whatever $K$.
# * **A less confident $C_s$ resists less.** Lower $c$, or the network's and K-NN's real neighbourhoods,
#   start lower and break earlier: the examples whose neighbourhood is already mixed are the first to go.
# * **Ties.** For even $K$ (and for odd $K$ when three or more labels share first place) the `strict`
#   rule of the paper counts ties as errors; `random` and `lowest` recover part of them.
