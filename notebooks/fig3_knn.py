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
# # Fig. 3: K-NN under label noise, analytic vs empirical
#
# **The paper's claim** {cite}`drory2020resistance`: the accuracy of a K-NN classifier trained on noisy
# labels is "predicted very well" by Theorem 1 with Eq. 3, when the clean distribution $C_s$ of each test
# example is read off its clean neighbourhood. Fig. 3 shows it for uniform and flip noise on MNIST
# (K-NN on the 784 pixels) and CIFAR-10 (on a network's 256-d features).
#
# Here we corrupt the training labels for real, vote with the K nearest neighbours, and set the measured
# accuracy beside the analytic curve computed from the clean neighbourhoods.

# %% tags=["parameters"]
dataset = "mnist"  # digits, mnist, cifar10 (pixels) or features (an .npz of embeddings, see data_path)
data_path = None  # features: the .npz file; cifar10: the folder above cifar-10-batches-py
train_subset = None  # None: the whole training set; an int: a stratified subset of that size
test_subset = None  # None: the whole test set; an int: a stratified subset of that size
ks = [1, 5, 25, 51]  # neighbourhood sizes
uniform_gammas = None  # uniform noise levels; None: 0 to 0.95 in steps of 0.05
flip_gammas = None  # flip noise levels; None: 0 to 0.8 in steps of 0.05
repeats = 3  # independent noise draws per level
ties = "lowest"  # the empirical vote's tie rule: lowest (scikit-learn), random (expected), strict
seed = 0  # seeds the subsets and the noise draws
embedding = (
    "pixels"  # pixels, or network: a clean-trained net's 256-d features (the paper's CIFAR-10 setting)
)
model = "mnist"  # the network of the network embedding: mnist, or allcnnc for CIFAR-10
epochs = 3  # its training epochs (clean labels; the best clean-validation epoch is kept)
lr = 0.003  # its Adam learning rate

# %%
# %matplotlib inline
import numpy as np
import pandas as pd
from IPython.display import display

from knnoise import expected_accuracy, plots
from knnoise.experiment import clean_network
from knnoise.knn import clean_distribution, knn_accuracy, neighbor_graph
from knnoise.noise import corrupt, flip, uniform
from knnoise.notebook import (
    check_choice,
    check_int,
    check_ks,
    check_noise_levels,
    load_dataset,
    show_parameters,
)
from knnoise.results import record

ks = check_ks("ks", ks)
train_subset = check_int("train_subset", train_subset, allow_none=True)
test_subset = check_int("test_subset", test_subset, allow_none=True)
uniform_gammas = check_noise_levels("uniform_gammas", uniform_gammas, np.round(np.arange(0, 0.951, 0.05), 2))
flip_gammas = check_noise_levels("flip_gammas", flip_gammas, np.round(np.arange(0, 0.801, 0.05), 2))
repeats = check_int("repeats", repeats)
ties = check_choice("ties", ties, ("lowest", "random", "strict"))
seed = check_int("seed", seed, minimum=0)
embedding = check_choice("embedding", embedding, ("pixels", "network"))
model = check_choice("model", model, ("mnist", "allcnnc"))
epochs = check_int("epochs", epochs)
show_parameters(
    {
        "dataset": dataset,
        "data_path": data_path,
        "train_subset": train_subset,
        "test_subset": test_subset,
        "ks": ks,
        "uniform_gammas": uniform_gammas.tolist(),
        "flip_gammas": flip_gammas.tolist(),
        "repeats": repeats,
        "ties": ties,
        "seed": seed,
        "embedding": embedding,
        **({"model": model, "epochs": epochs, "lr": lr} if embedding == "network" else {}),
    }
)

# %% [markdown]
# ## The neighbour graph and the clean neighbourhoods
#
# K-NN runs on the pixels, or (`embedding = "network"`, the paper's CIFAR-10 and ImageNet setting) on the
# 256-d penultimate features of a network trained on the clean labels.
# The neighbours of a test example do not depend on the labels, so the exact top-$K_{\max}$ Euclidean
# neighbour graph is computed once (and cached); every noise draw and every K then only re-reads labels
# through it. $C_s$ for a given K is the label histogram of the K clean neighbours.

# %%
ds = load_dataset(dataset, data_path=data_path, train_subset=train_subset, test_subset=test_subset, seed=seed)
if max(ks) > ds.n_train:
    raise ValueError(f"ks must not exceed the {ds.n_train} training examples, got {max(ks)}")
print(ds)
if embedding == "network":  # the penultimate features of a network trained on the clean labels
    schedule = {"model": model, "epochs": epochs, "lr": float(lr), "lr_halving_every": None}
    net = clean_network(ds, schedule, seed=seed)
    print(f"embedding: {model} network features, clean test accuracy {net.test_accuracy:.4f}")
    x_train, x_test = net.train_features, net.test_features
else:
    x_train, x_test = ds.flat("train"), ds.flat("test")
graph = neighbor_graph(x_train, x_test, k_max=max(ks))
n_labels = ds.n_classes
clean = clean_distribution(graph, ds.y_train, ks, n_labels)  # (len(ks), M, L)
clean_acc = knn_accuracy(
    graph, ds.y_train, ds.y_test, ks, n_labels=n_labels, ties=ties, expected=ties == "random"
)
display(pd.DataFrame({"clean K-NN accuracy": clean_acc}, index=[f"K = {k}" for k in ks]).T)

# %% [markdown]
# ## Analytic curves (Eq. 1–3) and empirical K-NN
#
# For each noise model and level: the analytic expected accuracy with the tie rule the empirical vote
# uses, the paper's strict rule (a tie counts as wrong), and the measured accuracy of the vote over
# `repeats` independent noise draws (mean ± standard deviation). $\gamma$ is the fraction of training
# labels *selected* for corruption; with uniform noise only $\gamma (L-1)/L$ of them actually change.

# %%
noises = {"uniform noise": (uniform(n_labels), uniform_gammas), "flip noise": (flip(n_labels), flip_gammas)}
analytic_tie = ties  # the analytic solver knows the same three rules
analytic, rows = {}, []
for n_index, (name, (P, gammas)) in enumerate(noises.items()):
    analytic[name] = {
        label: np.column_stack(
            [
                expected_accuracy(clean[j], ds.y_test, gammas, P, [k], rule, progress=False)[:, 0]
                for j, k in enumerate(ks)
            ]
        )
        for label, rule in (
            (f"analytic, {analytic_tie} ties", analytic_tie),
            ("analytic, strict (paper)", "strict"),
        )
    }
    for g_index, gamma in enumerate(gammas):
        draws = [corrupt(ds.y_train, gamma, P, seed=[seed, n_index, g_index, r]) for r in range(repeats)]
        labels = np.stack([d.labels for d in draws])
        acc = knn_accuracy(
            graph, labels, ds.y_test, ks, n_labels=n_labels, ties=ties, expected=ties == "random", seed=seed
        )
        for r, d in enumerate(draws):
            for j, k in enumerate(ks):
                rows.append(
                    {
                        "dataset": ds.name,
                        "model": "K-NN",
                        "noise": name.split()[0],
                        "gamma": gamma,
                        "changed": d.changed_fraction,
                        "K": k,
                        "repeat": r,
                        "accuracy": acc[r, j],
                    }
                )
results = pd.DataFrame(rows)
stats = results.groupby(["noise", "gamma", "K"]).accuracy.agg(["mean", "std"]).fillna(0.0)
empirical = {
    name: tuple(stats.loc[name.split()[0]][col].unstack("K")[ks].to_numpy() for col in ("mean", "std"))
    for name in noises
}

# %%
styles = {
    f"analytic, {analytic_tie} ties": {"linestyle": "-"},
    "analytic, strict (paper)": {"linestyle": ":"},
}
fig = plots.accuracy_curves(
    uniform_gammas,
    {name: (gammas, analytic[name]) for name, (_, gammas) in noises.items()},
    ks,
    styles=styles,
    overlays={
        name: [
            {
                "x": gammas,
                "y": empirical[name][0][:, j],
                "yerr": empirical[name][1][:, j],
                "fmt": "o",
                "ms": 3.5,
                "color": f"C{j}",
                "label": "K-NN, measured (mean ± sd)" if j == 0 else None,
            }
            for j in range(len(ks))
        ]
        for name, (_, gammas) in noises.items()
    },
)
fig.suptitle(f"{ds.name}: K-NN accuracy under label noise, analytic vs measured")
display(fig)

# %% [markdown]
# Lines: Eq. 1–3 from the clean neighbourhoods (solid: the empirical vote's tie rule; dotted: the paper's
# strict rule). Markers: the measured K-NN accuracy, mean ± standard deviation over the noise draws.
#
# ## How close is the fit?

# %%
gap_rows = []
for name, (_, gammas) in noises.items():
    mean, std = empirical[name]
    for label, table in analytic[name].items():
        for j, k in enumerate(ks):
            diff = table[:, j] - mean[:, j]
            worst = int(np.argmax(np.abs(diff)))
            gap_rows.append(
                {
                    "noise": name,
                    "curve": label,
                    "K": k,
                    "max |analytic - empirical|": abs(diff[worst]),
                    "at gamma": gammas[worst],
                    "analytic - empirical there": diff[worst],
                    "mean |analytic - empirical|": np.abs(diff).mean(),
                }
            )
gaps = pd.DataFrame(gap_rows)
display(gaps.round(3))
own_rule = gaps[gaps.curve.str.startswith(f"analytic, {analytic_tie}")]
paper_rule = gaps[gaps.curve == "analytic, strict (paper)"]
print(
    f"Largest gap between analytic and measured accuracy: {own_rule['max |analytic - empirical|'].max():.3f} "
    f"with the vote's own tie rule ({analytic_tie}), {paper_rule['max |analytic - empirical|'].max():.3f} "
    "with the paper's strict rule."
)
record(
    "fig3_knn",
    "Theorem 1 with Eq. 3 predicts K-NN accuracy under randomly spread noise",
    "Fig. 3: analytic and empirical curves for MNIST pixels and CIFAR-10 features 'fit well'",
    f"{ds.name}, K in {ks}: largest gap {own_rule['max |analytic - empirical|'].max():.3f} with the vote's "
    f"own tie rule ({analytic_tie}); {paper_rule['max |analytic - empirical|'].max():.3f} with the paper's "
    "strict rule",
)
uniform_changed = results[results.noise == "uniform"].groupby("gamma").changed.mean()
print("Uniform noise, fraction of labels actually changed at each γ (≈ γ (L-1)/L):")
print(uniform_changed.round(3).to_dict())

# %% [markdown]
# ## What we see
#
# The analytic curves follow the measured K-NN accuracy closely for both noise models and every K — the
# paper's Fig. 3 claim reproduces. On full MNIST (the `quick` profile) the largest gap with the vote's own
# tie rule is about one percentage point (the printout above gives this run's numbers). Uniform noise is
# resisted far longer than flip noise: the flip curves of every K > 1 cross at $\gamma = 1/2$, where the
# flipped class overtakes the true one in every neighbourhood, while with uniform noise a large K keeps
# its accuracy up to $\gamma \approx 0.8$.
#
# **The tie rule matters more than the paper lets on.** The paper's strict rule counts every tie for
# first place as an error. That is not what a K-NN does, and under heavy uniform noise it is not a
# negligible effect even for odd K: three or more labels can share first place (2–2–1 at K = 5). There the
# strict curve falls several points below the measured accuracy, while the curve with the classifier's
# own rule (scikit-learn's: the lowest label wins) stays on the measurements.
#
# Where a gap remains, the cause is the model's one approximation: Theorem 1 treats the K observed labels
# as i.i.d. draws from $q$, whereas a real neighbourhood holds K *fixed* examples whose clean labels are
# known and only their corruption is random; the i.i.d. model adds the variance of re-drawing the clean
# labels. Near-pure neighbourhoods, the common case on MNIST, make this approximation good.
