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
# **The paper's claim** {cite}`drory2020resistance`: the *type* of label noise matters as much as its
# amount. Relabel a randomly chosen 20% of MNIST's training examples and a network trained on them still
# reaches about 100% test accuracy; relabel 20% that are *locally concentrated* — whole groups of similar
# examples given the same wrong label — and it reaches only about 80%. The paper shows this with the
# network's deep features embedded in 2-D by t-SNE {cite}`maaten2008tsne`, each point
# coloured by the label the training set gives it.
#
# Here: the penultimate-layer features (256-d) of the network trained on *clean* labels — the same cached
# network as in the other chapters — for a stratified subset of the **training** examples, embedded once
# with t-SNE and drawn twice: coloured by the labels after 20% uniform noise (left) and after 20% locally
# concentrated noise (right). We embed training examples rather than test examples because noisy labels
# exist only on the training set: each point's colour is exactly the label the network was trained on,
# with no proxy needed. Each panel's title gives the clean test accuracy of a network trained on that noisy
# training set.

# %% tags=["parameters"]
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

# %%
# %matplotlib inline
import time

import numpy as np
import pandas as pd
from IPython.display import display
from sklearn.manifold import TSNE
from sklearn.model_selection import train_test_split

from knnoise import plots
from knnoise.experiment import clean_network, noisy_network
from knnoise.knn import neighbor_graph
from knnoise.notebook import check_choice, check_int, check_schedule, load_dataset, show_parameters
from knnoise.results import record

train_subset = check_int("train_subset", train_subset, allow_none=True)
test_subset = check_int("test_subset", test_subset, allow_none=True)
if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not 0 < gamma < 1:
    raise ValueError(f"gamma must be a number in (0, 1), got {gamma!r}")
tsne_points = check_int("tsne_points", tsne_points, minimum=10, allow_none=True)
if isinstance(perplexity, bool) or not isinstance(perplexity, (int, float)) or perplexity <= 0:
    raise ValueError(f"perplexity must be a positive number, got {perplexity!r}")
neighbours = check_int("neighbours", neighbours)
device = check_choice("device", device, ("auto", "cpu", "cuda"))
seed = check_int("seed", seed, minimum=0)
schedule = check_schedule(model, epochs, lr, lr_halving_every)
model, epochs = schedule["model"], schedule["epochs"]
show_parameters(
    {
        "dataset": dataset,
        "data_path": data_path,
        "train_subset": train_subset,
        "test_subset": test_subset,
        **schedule,
        "gamma": gamma,
        "tsne_points": tsne_points,
        "perplexity": perplexity,
        "neighbours": neighbours,
        "seed": seed,
        "device": device,
    }
)

# %% [markdown]
# ## The clean network and the two noisy training sets
#
# Uniform noise selects $\gamma N$ training examples at random and redraws each label uniformly from all
# $L$ classes, so about $\gamma (L-1)/L$ of the labels actually change. Locally concentrated noise
# follows the paper's construction: per class, k-means with $k = 1/\gamma$ on the clean network's
# penultimate features, and the cluster closest to a $\gamma$ share of the class relabelled to the class's
# alternative $(c + L/2) \bmod L$ — so its achieved noise level is close to, not exactly, $\gamma$. A
# network is trained on each noisy set (early stopping on clean validation labels) and scored on the clean
# test set.

# %%
ds = load_dataset(dataset, data_path=data_path, train_subset=train_subset, test_subset=test_subset, seed=seed)
print(ds)
clean_net = clean_network(ds, schedule, seed=seed, device=device)
print(f"clean network: test accuracy {clean_net.test_accuracy:.4f} ({clean_net.device})")
noisy = {
    kind: noisy_network(ds, kind, gamma, 0, schedule, seed=seed, device=device)
    for kind in ("uniform", "concentrated")
}
summary = pd.DataFrame(
    [
        {
            "noise": kind,
            "selected for corruption": corruption.selected_fraction,
            "labels changed": corruption.changed_fraction,
            "test accuracy (clean labels)": net.test_accuracy,
            "1 − labels changed": 1 - corruption.changed_fraction,
        }
        for kind, (net, corruption) in noisy.items()
    ]
).set_index("noise")
display(summary.round(4))
record(
    "fig1_concentration",
    "The same amount of noise: harmless when spread, costly when concentrated",
    "Fig. 1: ~100% accuracy at 20% uniform noise, ~80% at 20% locally concentrated noise",
    f"{ds.name} net, γ = {gamma:g}: uniform {summary.loc['uniform', 'test accuracy (clean labels)']:.3f}, "
    f"concentrated {summary.loc['concentrated', 'test accuracy (clean labels)']:.3f} "
    f"(clean {clean_net.test_accuracy:.3f})",
)

# %% [markdown]
# ## One embedding, two labellings

# %%
features = clean_net.train_features
rows = np.arange(ds.n_train)
if tsne_points is not None and tsne_points < ds.n_train:
    rows = np.sort(train_test_split(rows, train_size=tsne_points, stratify=ds.y_train, random_state=seed)[0])
start = time.perf_counter()
tsne = TSNE(
    n_components=2,
    perplexity=min(float(perplexity), (len(rows) - 1) / 3),
    init="pca",
    learning_rate="auto",
    random_state=seed,
)
points = tsne.fit_transform(features[rows])
print(f"t-SNE of {len(rows):,} × {features.shape[1]} features: {time.perf_counter() - start:.1f} s")

labels, marked, titles = [], [], []
for kind, (net, corruption) in noisy.items():
    labels.append(corruption.labels[rows])
    marked.append(corruption.labels[rows] != ds.y_train[rows])
    name = "uniform noise" if kind == "uniform" else "locally concentrated noise"
    titles.append(
        f"{name}, γ = {corruption.selected_fraction:.0%} ({corruption.changed_fraction:.0%} changed)\n"
        f"network trained on it: {net.test_accuracy:.1%} test accuracy"
    )
fig = plots.embedding_panels(
    points, labels, titles, ds.class_names, marked=marked, true_labels=ds.y_train[rows]
)
fig.suptitle(f"{ds.name}: t-SNE of the clean network's penultimate features, {len(rows):,} training examples")
display(fig)

# %% [markdown]
# Each point is a training example, placed by t-SNE from the clean network's features; the large digit
# marks the median position of each true class. Colour: the label the noisy training set gives it.
# Black outline: the label was changed by the noise. Left and right show the *same* points in the *same*
# places; only the labels differ.
#
# ## How local is the noise?
#
# The picture in numbers, on the whole training set and in the full 256-d feature space: for each
# example whose label the noise changed, how many of its nearest training examples (by the clean
# network's features) were changed too, and does the plurality of its neighbours' *noisy* labels still
# give its true class — what a K-NN vote around it would see.

# %%
graph = neighbor_graph(features, features, k_max=neighbours + 1, progress=False)
# Drop each example itself from its list (first among exact duplicates only if it has the lowest index).
not_self = graph.indices != np.arange(ds.n_train)[:, None]
order = np.argsort(~not_self, axis=1, kind="stable")
others = np.take_along_axis(graph.indices, order, axis=1)[:, :neighbours]
rows_table = []
for kind, (_, corruption) in noisy.items():
    changed = corruption.labels != corruption.clean
    votes = (corruption.labels[others][:, :, None] == np.arange(ds.n_classes)).sum(axis=1)
    rows_table.append(
        {
            "noise": kind,
            f"changed among its {neighbours} neighbours": changed[others[changed]].sum(axis=1).mean(),
            "neighbours' plurality = its true label": (
                votes[changed].argmax(axis=1) == corruption.clean[changed]
            ).mean(),
            "labels changed (all examples)": changed.mean(),
        }
    )
display(pd.DataFrame(rows_table).set_index("noise").round(3))

# %% [markdown]
# ## What we see
#
# With uniform noise the relabelled examples are scattered through every class cluster: each sits among
# neighbours that are mostly correctly labelled (only the overall share, $\gamma (L-1)/L$, is relabelled too,
# as for any example), their plurality label is its true class, and a network trained on this set — like a
# K-NN voting over a neighbourhood — averages the noise away and loses only a little on the clean test set.
# With the same share of locally concentrated noise the relabelled examples form whole patches of a
# cluster with one wrong label: most of their neighbours are relabelled as well, the neighbourhood's
# plurality *is* the wrong label, and the network learns it. Its test accuracy falls to about
# $1 - \gamma$, as in the paper's Fig. 1 (about 80% at $\gamma = 0.2$): it has no resistance to noise it
# cannot average away. The amount of noise is the same; its concentration decides whether it is resisted.
