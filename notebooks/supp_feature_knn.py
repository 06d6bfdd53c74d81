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
# # Supplement: K-NN in the network's feature space against its softmax
#
# **The paper's claim** {cite}`drory2020resistance`: a network's output for a test example behaves like a
# K-NN in some implicit space, and the penultimate layer's output is a natural candidate for that space,
# "since distances between examples in this space are expected to carry some semantic meaning"; the
# paper's supplementary material compares K-NN in this space with the softmax output.
#
# Here: for networks trained on noisy labels (uniform and flip noise; the same cached networks as in the
# Fig. 2 and Fig. 4 chapters), we take each test example's K nearest training examples in the network's
# own 256-d penultimate-feature space, form the histogram of their **noisy** training labels, and compare
# it with the network's softmax for that example: the mean total-variation distance
# $\frac{1}{2}\sum_\ell |\mathrm{softmax}(\ell) - h_K(\ell)|$ and how often the softmax's argmax is the
# neighbourhood's plurality label, as K grows. The K at which the two are closest is a second, independent
# estimate of the network's *effective K*, to set beside the one fitted to accuracy curves in
# {doc}`the Fig. 4 chapter <fig4_dnn>`.

# %% tags=["parameters"]
dataset = "mnist"  # mnist or digits (the MNIST net); cifar10 needs model "allcnnc"
data_path = None  # cifar10: the folder above cifar-10-batches-py
train_subset = 6000  # training images used (stratified); None for all (the paper)
test_subset = None  # test images used; None for all
model = "mnist"  # mnist: the paper's MNIST net; allcnnc: All-CNN-C for CIFAR-10
epochs = 3  # training epochs (best clean-validation epoch kept); the paper: 20 (MNIST), 60 (CIFAR-10)
lr = 0.003  # Adam learning rate; the paper: 0.01 (MNIST), 0.007 (CIFAR-10)
lr_halving_every = None  # halve the learning rate every this many epochs; the paper: 10 (MNIST), 30
uniform_gammas = [0.5, 0.8]  # uniform noise levels (fraction selected for corruption)
flip_gammas = [0.3, 0.45]  # flip noise levels
ks = [1, 2, 3, 5, 8, 11, 16, 25, 35, 51, 71, 101, 151, 201, 301]  # neighbourhood sizes K compared
seed = 0  # seeds subsets, noise draws and networks
device = "auto"  # auto (a GPU when present), cpu or cuda

# %%
# %matplotlib inline
import numpy as np
import pandas as pd
from IPython.display import display
from tqdm.auto import tqdm

from knnoise import plots
from knnoise.experiment import clean_network, noisy_network
from knnoise.knn import clean_distribution, neighbor_graph
from knnoise.notebook import (
    check_choice,
    check_int,
    check_ks,
    check_noise_levels,
    check_schedule,
    load_dataset,
    show_parameters,
)
from knnoise.results import record

levels = {
    kind: check_noise_levels(f"{kind}_gammas", value, [0.5])
    for kind, value in (("uniform", uniform_gammas), ("flip", flip_gammas))
}
ks = check_ks("ks", ks)
train_subset = check_int("train_subset", train_subset, allow_none=True)
test_subset = check_int("test_subset", test_subset, allow_none=True)
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
        **{f"{k}_gammas": v.tolist() for k, v in levels.items()},
        "ks": ks,
        "seed": seed,
        "device": device,
    }
)

# %% [markdown]
# ## Softmax against the neighbourhood's label histogram
#
# For each network: its penultimate features of the training examples it was fitted to (the 90% that are
# not its clean validation split) and of the test set; the exact neighbour graph in that space
# (Euclidean, computed once per network); then, for every K, the label histogram of each test example's K
# nearest training examples under the labels the network was trained on. The clean network (trained on
# clean labels) is the reference.

# %%
ds = load_dataset(dataset, data_path=data_path, train_subset=train_subset, test_subset=test_subset, seed=seed)
L = ds.n_classes
print(ds)
clean_net = clean_network(ds, schedule, seed=seed, device=device)
if max(ks) > len(clean_net.train_index):
    raise ValueError(f"ks must not exceed the {len(clean_net.train_index)} fitted training examples")
settings = [("clean", 0.0)] + [(kind, float(g)) for kind, gammas in levels.items() for g in gammas]
distance, agreement, rows = {}, {}, []
for kind, gamma in tqdm(settings, desc="networks"):
    if kind == "clean":
        net, labels, name = clean_net, ds.y_train, "clean labels"
        train_features = clean_net.train_features
    else:
        net, corruption = noisy_network(ds, kind, gamma, 0, schedule, seed=seed, device=device)
        labels, name = corruption.labels, f"{kind}, γ = {corruption.selected_fraction:.2f}"
        train_features = net.predict(ds.x_train, device=device)[1]
    fitted = np.sort(net.train_index)  # the examples whose (noisy) labels the network was trained on
    graph = neighbor_graph(train_features[fitted], net.test_features, k_max=max(ks), progress=False)
    hist = clean_distribution(graph, labels[fitted], ks, L)  # (len(ks), M, L)
    softmax = net.test_softmax.astype(np.float64)
    tv = 0.5 * np.abs(hist - softmax[None]).sum(axis=2).mean(axis=1)
    agree = (hist.argmax(axis=2) == softmax.argmax(axis=1)[None]).mean(axis=1)
    knn_acc = (hist.argmax(axis=2) == ds.y_test[None]).mean(axis=1)
    distance[name], agreement[name] = tv, agree
    best = int(np.argmin(tv))
    rows.append(
        {
            "setting": name,
            "network accuracy": net.test_accuracy,
            "best K": ks[best],
            "TV distance at best K": tv[best],
            "argmax agreement at best K": agree[best],
            "K-NN accuracy at best K": knn_acc[best],
            "K of most agreement": ks[int(np.argmax(agree))],
            f"TV distance at K = {ks[0]}": tv[0],
        }
    )
display(plots.knn_softmax_agreement(ks, distance, agreement, reference="clean labels"))
best_k = pd.DataFrame(rows).set_index("setting")
display(best_k.round(3))
noisy_rows = best_k.drop(index="clean labels", errors="ignore")
record(
    "supp_feature_knn",
    "The softmax resembles a K-NN in the penultimate-feature space",
    "Supplementary material: K-NN in feature space vs softmax outputs",
    "best K (TV distance, argmax agreement): "
    + "; ".join(
        f"{name} K = {int(r['best K'])} "
        f"({r['TV distance at best K']:.2f}, {r['argmax agreement at best K']:.2f})"
        for name, r in noisy_rows.iterrows()
    ),
)

# %% [markdown]
# Left: the mean total-variation distance (0: identical distributions, 1: disjoint) between a test
# example's softmax and the noisy-label histogram of its K nearest training examples in the network's
# feature space; the star marks the K of least distance. Right: the fraction of test examples for which
# the softmax's top class is the neighbourhood's plurality label (ties in the histogram go to the lower
# label). Dashed black: the network trained on clean labels. The table gives, per network, its clean test
# accuracy, the best K (least distance), the distance and agreement there, the accuracy of that
# feature-space K-NN vote on the clean test labels, and the K at which the argmax agreement peaks.
#
# ## What we see
#
# Trained on noisy labels, the network's softmax is far from the one-hot label of the nearest training
# example (K = 1): the distance is large and falls steadily as the neighbourhood grows. It is smallest for
# neighbourhoods of tens to hundreds of training examples — a sizeable part of a class's cluster — where the
# label histogram has become as smooth as the softmax itself: the network outputs a *neighbourhood's*
# label distribution, not a neighbour's label, as the paper's supplement argues. The least distance is
# still well above zero, and the curves are flat near their minimum, so "the" K is loosely defined. It is
# larger for uniform noise, whose softmax spreads a little mass over every class and which only a large
# histogram reproduces, than for flip noise, whose two-peaked softmax is matched by fewer neighbours.
#
# The argmax agreement tells the same story with one twist. Where the true class clearly leads in a
# neighbourhood (moderate noise) the network predicts its neighbourhood's plurality label for most test
# examples; close to the breaking point (uniform noise near 0.8–0.9, flip noise near 0.5) the race between
# the true class and the noise is close and the two often disagree. There, a K-NN vote in the noisy
# network's *own* feature space can be more accurate than the network's softmax: the features keep more of
# the class structure than the output layer's decision.
#
# The K of least distance is a second estimate of the network's effective K, from its outputs instead of
# its accuracy. On MNIST in the `quick` profile it comes out larger than the K fitted to the accuracy curves
# in {doc}`the Fig. 4 chapter <fig4_dnn>` (compare the two tables): the two estimates answer different
# questions — which neighbourhood's histogram the softmax resembles, and which K-NN loses accuracy to noise
# at the same rate — and a network is not one fixed K-NN. The clean network (dashed) is close to its
# neighbours' histogram at every K: its neighbourhoods are pure and its softmax confident, so its curve
# carries no information about K and serves as the floor of the distance.
