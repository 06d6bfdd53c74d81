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
# # Your own network under label noise (beyond the paper)
#
# **The paper's claim** {cite}`drory2021resistance`: take $C_s$, the softmax of a network trained on
# *clean* labels, as each test example's clean neighbourhood distribution; Eq. 3,
# $q = (1-\gamma)\,C_s + \gamma\,C_s P$, and Theorem 1 averaged over the test set (Eq. 1) then predict the
# accuracy of networks trained on noisy labels (Fig. 4) — without training any of them.
#
# Here that recipe becomes a tool for *your* network. All it needs is the network's softmax on a clean
# test set and the true labels, saved the way your code already saves arrays. We use the book's clean
# network (the one of the Fig. 2 and Fig. 4 chapters when the parameters match), save its softmax as a
# user would, predict the accuracy curves from the files, and show how to do the same for your own model,
# from Python or from the command line. The parameters below are the ones this page was built with (the
# book's profile, see {doc}`../intro`); rerun it with others through
# `python -m knnoise.book --only your_model -p NAME VALUE`.

# %% tags=["parameters", "hide-input"]
dataset = "mnist"  # mnist or digits (the MNIST net); cifar10 needs model "allcnnc"
data_path = None  # cifar10: the folder above cifar-10-batches-py
train_subset = 6000  # training images used (stratified); None for all (the paper)
test_subset = None  # test images used; None for all
model = "mnist"  # mnist: the paper's MNIST net; allcnnc: All-CNN-C for CIFAR-10
epochs = 3  # training epochs (best clean-validation epoch kept); the paper: 20 (MNIST), 60 (CIFAR-10)
lr = 0.003  # Adam learning rate; the paper: 0.01 (MNIST), 0.007 (CIFAR-10)
lr_halving_every = None  # halve the learning rate every this many epochs; the paper: 10 (MNIST), 30
noises = ["uniform", "flip"]  # the noise models predicted: uniform, symmetric or flip
gammas = None  # noise levels of the curves; None for 0 to 1 in steps of 0.05
ks = [1, 5, 25, 51]  # K of the curves
ties = "strict"  # a tie for first is wrong (strict, the paper), broken at random, or to the lowest label
seed = 0  # seeds subsets and the network
device = "auto"  # auto (a GPU when present), cpu or cuda
scheduler = None  # a Dask scheduler address (the runner's --workers/--scheduler); None: in this kernel

# %% tags=["hide-input"]
# %matplotlib inline
from knnoise.book import glue_figure, glue_values, setup
from knnoise.experiments import your_model
from knnoise.pipeline import engine

p = setup("your_model", globals())

# %% [markdown]
# ## A network's softmax, saved as you would save yours
#
# The clean network reaches a test accuracy of {glue:text}`your_model_clean_accuracy:.4f`. Its softmax on
# the {glue:text}`your_model_n_test` test images is written as a float32 `.npy` (rows: test examples,
# columns: the {glue:text}`your_model_n_classes` classes) and the true labels as a `.csv`, one per line —
# what a few lines of your own code produce:
#
# ```python
# model.eval()
# with torch.no_grad():
#     softmax = torch.softmax(model(x_test), dim=1).cpu().numpy()  # (M, L) float32
# np.save("softmax.npy", softmax)
# np.savetxt("labels.csv", y_test, fmt="%d")
# ```

# %% tags=["hide-input"]
with engine.executor(p.scheduler) as executor:  # None: the network trains in this kernel
    ds, net = your_model.clean_softmax(p, executor=executor)
saved = your_model.save_outputs(net, ds)
glue_values(your_model_clean_accuracy=net.test_accuracy, your_model_n_test=f"{ds.n_test:,}",
            your_model_n_classes=ds.n_classes, your_model_row_error=saved.row_sum_error())  # fmt: skip
print(saved)

# %% [markdown]
# ## The prediction, from the files
#
# In float32 the rows sum to 1 only within {glue:text}`your_model_row_error:.1e`: they are accepted and
# renormalised in float64 (rows summing to 0.9, negative entries or logits are refused with a message
# naming the file). This cell is the whole recipe — read, then Eq. 3 and Theorem 1 for every noise
# level and K:

# %%
from knnoise import predict

softmax = predict.read_softmax(saved.softmax)  # C_s: (M, L), rows renormalised in float64
labels = predict.read_labels(saved.labels, n_rows=len(softmax), n_labels=softmax.shape[1])
result = predict.predict(softmax, labels, p.noises, p.gammas, p.ks, ties=p.ties)
result.table(p.noises[0]).round(3)  # a row per noise level, a column per K

# %% tags=["hide-input"]
glue_figure("your_model_curves", result.figure(title=f"{ds.name}: predicted from the clean softmax"))
glue_values(**{f"your_model_{name}": value for name, value in your_model.quoted(result).items()})

# %% [markdown]
# ```{glue:figure} your_model_curves
# :name: fig-your-model-curves
#
# The predicted accuracy of the network of this chapter under label noise, one line per K (Eq. 1–3 with
# its clean softmax as $C_s$, {glue:text}`your_model_ties` ties), one panel per noise model. Nothing was
# trained on noisy labels to draw these.
#
# {download}`Data behind this figure (CSV) <results/your_model/your_model_curves.csv>`
# ```
#
# ## What we see
#
# At $\gamma$ = {glue:text}`your_model_half:g` {numref}`fig-your-model-curves` predicts
# {glue:text}`your_model_at_half`. The curve for K = {glue:text}`your_model_k_hi` keeps at least half
# its clean value {glue:text}`your_model_holds`. For a well-trained network the paper's pattern shows:
# randomly spread uniform noise is resisted far longer than flip noise, which breaks near $\gamma = 1/2$,
# where the true label and its flip target swap roles; a prediction can only be as good as the clean
# softmax it starts from. These are predictions; {doc}`the Fig. 4 chapter <fig4_dnn>` trains networks
# on noisy labels and finds the K whose curve they follow (the *effective K*).
#
# ## Your network
#
# Save your network's softmax on a clean test set and the labels (above; `.npy`, `.npz` as `FILE.npz:KEY`,
# `.csv`, a torch tensor with `torch.save(softmax, "softmax.pt")`, or one CSV with a column per class and a
# `label` column, read with `--softmax preds.csv:p0-p9 --labels preds.csv:label`), then either call
# `predict.predict` as in the cell above, or run the command line, which prints the same table per noise
# model, writes the tidy curves with `--out curves.csv` and the figure with `--plot curves.png`, and, given
# your network's measured accuracies under noise (`--measured measured.csv`, a tidy table with columns
# `noise,gamma,accuracy`), prints each noise model's fitted effective K (`--json fit.json` keeps the fits).
# `python -m knnoise predict --help` lists every option. On this chapter's files:

# %% tags=["hide-input"]
command = your_model.cli_command(p)
print("$", " ".join(command), end="\n\n")
print(your_model.run_cli(command, saved.folder))
