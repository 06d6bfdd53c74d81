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
# **The paper's claim** {cite}`drory2020resistance`: a network trained on noisy labels outputs, for a
# test example, roughly the distribution of the (noisy) labels of the training examples around it. With
# uniform noise at level $\gamma$ the softmax is about $\gamma / L$ on every wrong class; with flip noise
# the probability mass sits on the true class and its flip target, the latter at about $\gamma$. Only the
# plurality label of the neighbourhood decides the prediction — the starting point of the K-NN analysis.
#
# Here: the networks trained for Fig. 4 (the same cached networks when the parameters match), their
# softmax on the clean test set, each row reordered so that the true label comes first.

# %% tags=["parameters"]
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

# %%
# %matplotlib inline
import numpy as np
import pandas as pd
from IPython.display import display
from tqdm.auto import tqdm

from knnoise import plots
from knnoise.experiment import clean_network, noisy_network
from knnoise.notebook import (
    check_choice,
    check_int,
    check_noise_levels,
    check_schedule,
    load_dataset,
    show_parameters,
)
from knnoise.results import record

levels = {
    kind: check_noise_levels(f"{kind}_gammas", value, [0.5])
    for kind, value in (
        ("uniform", uniform_gammas),
        ("flip", flip_gammas),
        ("concentrated", concentrated_gammas),
    )
}
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
        "seed": seed,
        "device": device,
    }
)

# %%
ds = load_dataset(dataset, data_path=data_path, train_subset=train_subset, test_subset=test_subset, seed=seed)
L = ds.n_classes
print(ds)
clean_net = clean_network(ds, schedule, seed=seed, device=device)
panels = {"clean labels": plots.true_label_first(clean_net.test_softmax, ds.y_test)}
expected, rows = {}, []
jobs = [(kind, g) for kind, gammas in levels.items() for g in gammas]
for kind, gamma in tqdm(jobs, desc="networks"):
    net, corruption = noisy_network(ds, kind, gamma, 0, schedule, seed=seed, device=device)
    title = f"{kind} noise, γ = {corruption.selected_fraction:.2f}"
    ordered = plots.true_label_first(net.test_softmax, ds.y_test)
    panels[title] = ordered
    level = np.full(L, np.nan)
    if (
        kind == "uniform"
    ):  # a neighbourhood's labels: 1 - gamma + gamma/L on the true class, gamma/L elsewhere
        level[:] = gamma / L
        level[0] = 1 - gamma + gamma / L
    elif kind == "flip":  # 1 - gamma on the true class, gamma on the flip target (c + 1)
        level[0], level[1] = 1 - gamma, gamma
    expected[title] = level
    alternative = L // 2 if kind == "concentrated" else (1 if kind == "flip" else None)
    median = np.median(ordered, axis=0)
    rows.append(
        {
            "noise": kind,
            "gamma": round(corruption.selected_fraction, 3),
            "test accuracy": net.test_accuracy,
            "median softmax, true class": median[0],
            "median softmax, other classes (mean)": np.delete(
                median, [0] if alternative is None else [0, alternative]
            ).mean(),
            "median softmax, alternative class": np.nan if alternative is None else median[alternative],
            "predicted as the alternative": np.nan
            if alternative is None
            else float((net.test_softmax.argmax(axis=1) == (ds.y_test + alternative) % L).mean()),
        }
    )
display(plots.softmax_profile(panels, expected=expected, ncols=3))
table = pd.DataFrame(rows)
display(table.round(3))
parts = []
for _, row in table.iterrows():
    if row.noise == "uniform":
        parts.append(
            f"uniform γ = {row.gamma:g}: other classes {row['median softmax, other classes (mean)']:.3f} "
            f"(γ/L = {row.gamma / L:.3f})"
        )
    elif row.noise == "flip":
        parts.append(f"flip γ = {row.gamma:g}: flip target {row['median softmax, alternative class']:.3f}")
record(
    "fig2_softmax",
    "A network's softmax approximates the label distribution of the neighbourhood",
    "Fig. 2: median softmax ≈ γ/L off the peak (uniform), ≈ γ on the flip target (flip)",
    f"{ds.name} nets, median softmax: " + "; ".join(parts),
)

# %% [markdown]
# Bars: the median softmax output over the test examples at each class position (the true label, outlined,
# first; then label + 1, label + 2, …, so position +1 is the flip target and +5 the concentrated noise's
# alternative class). Whiskers: the central 50% of test examples. Red: the label distribution of a
# neighbourhood under the noise model (uniform: $1-\gamma+\gamma/L$ and $\gamma/L$; flip: $1-\gamma$ and
# $\gamma$).
#
# ## What we see
#
# Trained on noisy labels, the network does not output a confident one-hot vector: its softmax spreads
# probability the way the noisy labels around a test example are spread — roughly evenly over the wrong
# classes under uniform noise, and onto the one flip target under flip noise, growing with $\gamma$ —
# while the true class keeps the largest share as long as it is the plurality. Under locally concentrated
# noise the typical (median) test example looks clean, and the damage is concentrated in the examples of
# the corrupted regions, which the network confidently assigns to the alternative class: the fraction
# predicted as the alternative tracks $\gamma$. How closely the levels match depends on training: a
# network stopped early on clean validation labels smooths less than the ideal neighbourhood histogram.
