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
# **The paper's claim** {cite}`drory2021resistance`: a network's output for a test example behaves like a
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
# {doc}`the Fig. 4 chapter <fig4_dnn>`. The parameters below are the ones this page was built with (the
# book's profile, see {doc}`../intro`); rerun it with others through
# `python -m knnoise.book --only supp_feature_knn -p NAME VALUE`.

# %% tags=["parameters", "hide-input"]
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
scheduler = None  # a Dask scheduler address (the runner's --workers/--scheduler); None: in this kernel

# %% tags=["hide-input"]
# %matplotlib inline
from knnoise import plots
from knnoise.book import glue_figure, glue_values, record, setup
from knnoise.experiments import supp_feature_knn as supp
from knnoise.pipeline import engine

p = setup("supp_feature_knn", globals())

# %% [markdown]
# ## Softmax against the neighbourhood's label histogram
#
# For each network: its penultimate features of the training examples it was fitted to (the 90% that are
# not its clean validation split) and of the test set; the exact neighbour graph in that space
# (Euclidean, computed once per network); then, for every K, the label histogram of each test example's K
# nearest training examples under the labels the network was trained on. The clean network (trained on
# clean labels) is the reference.

# %% tags=["hide-input"]
with engine.executor(p.scheduler) as executor:  # None: the networks train in this kernel
    result = supp.run(p, executor=executor)
fig = plots.knn_softmax_agreement(p.ks, result.distance, result.agreement, reference=supp.CLEAN)
glue_figure("supp_agreement", fig)
glue_values(**{f"supp_{name}": value for name, value in result.quoted().items()}, supp_k_first=p.ks[0])
for claim in result.claims():
    record("supp_feature_knn", *claim)
print(result.dataset)
result.best_k.round(3)

# %% [markdown]
# ```{glue:figure} supp_agreement
# :name: fig-feature-knn
#
# Left: the mean total-variation distance (0: identical distributions, 1: disjoint) between a test
# example's softmax and the noisy-label histogram of its K nearest training examples in the network's
# feature space; the star marks the K of least distance. Right: the fraction of test examples for which
# the softmax's top class is the neighbourhood's plurality label (ties in the histogram go to the lower
# label). Dashed black: the network trained on clean labels.
#
# {download}`Data behind this figure (CSV) <results/supp_feature_knn/supp_agreement.csv>`
# ```
#
# The table gives, per network, its clean test accuracy, the best K (least distance), the distance and
# agreement there, the accuracy of that feature-space K-NN vote on the clean test labels, and the K at
# which the argmax agreement peaks.
#
# ## What we see
#
# Trained on noisy labels, the network's softmax is far from the one-hot label of the nearest training
# example: at K = {glue:text}`supp_k_first:d` the distance is at least
# {glue:text}`supp_tv_first_min:.2f` in {numref}`fig-feature-knn`, and it falls steadily as the
# neighbourhood grows. It is smallest for neighbourhoods of tens to hundreds of training examples (here at
# K = {glue:text}`supp_best_k_min:d` to {glue:text}`supp_best_k_max:d`) — a sizeable part of a class's
# cluster — where the label histogram has become as smooth as the softmax itself: the network outputs a
# *neighbourhood's* label distribution, not a neighbour's label, as the paper's supplement argues. The
# least distance is still well above zero (up to {glue:text}`supp_tv_best_max:.2f`), and the curves are
# flat near their minimum, so "the" K is loosely defined. It is larger for uniform noise, whose softmax
# spreads a little mass over every class and which only a large histogram reproduces, than for flip
# noise, whose two-peaked softmax is matched by fewer neighbours.
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
# in {doc}`the Fig. 4 chapter <fig4_dnn>` (compare the best K in the table above with that chapter's
# effective K): the two estimates answer different questions — which neighbourhood's histogram the softmax
# resembles, and which K-NN loses accuracy to noise at the same rate — and a network is not one fixed K-NN.
# The clean network (dashed; test accuracy {glue:text}`supp_clean_accuracy:.3f`) is close to its
# neighbours' histogram at every K (a distance of at most {glue:text}`supp_clean_tv_max:.2f`): its
# neighbourhoods are pure and its softmax confident, so its curve carries no information about K and serves
# as the floor of the distance.
