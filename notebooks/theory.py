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
# # Theory: the plurality vote under label noise
#
# **The paper's claim** {cite}`drory2021resistance`: if the K neighbours of a test example carry labels
# drawn i.i.d. from a distribution $q$, the probability that the true label wins the vote has a closed
# form (Theorem 1), and with $q$ from the noise process (Eq. 3) it already explains why uniform noise is
# resisted up to about 90% while flip noise breaks at 50%.
#
# This chapter states the result, shows how `knnoise` evaluates it exactly and fast, checks it against
# brute force and Monte Carlo, and draws the ideal curves. The parameters below are the ones this page was
# built with (the book's profile, see {doc}`../intro`); rerun it with others through
# `python -m knnoise.book --only theory -p NAME VALUE`.

# %% tags=["parameters", "hide-input"]
n_labels = 10  # L, the number of classes of the ideal curves
ks = [1, 5, 11, 25, 51]  # neighbourhood sizes of the ideal curves (odd: no ties between two labels)
even_ks = [2, 10, 50]  # even K, where the tie rule matters
n_gammas = 41  # points on the noise axis, from 0 to 1
mc_samples = 100_000  # Monte Carlo draws per check
speed_rows = 300  # Dirichlet-random q rows in the speed comparison
speed_k = 51  # K of the speed comparison
seed = 0  # seeds the random q of the checks

# %% tags=["hide-input"]
# %matplotlib inline
from knnoise import plots
from knnoise.book import glue_figure, glue_values, record, setup
from knnoise.experiments import theorem_checks

p = setup("theory", globals())

# %% [markdown]
# ## Theorem 1 and Eq. 3
#
# Let the true label of a test example be $\ell_i$ and let the labels of its $K$ neighbours be i.i.d.
# draws from $q = (q_1, \dots, q_L)$, with $n_j$ the number of neighbours labelled $\ell_j$. The K-NN
# prediction is the plurality label, and it is right with probability
#
# $$
# Q = \Pr(Y = \ell_i) = \sum_{n_1 + \dots + n_L = K} \mathbb{I}[n_i > n_j\ \forall j \ne i]
#     \binom{K}{n_1, \dots, n_L} q_1^{n_1} \cdots q_L^{n_L}. \qquad \text{(Eq. 2)}
# $$
#
# The noise enters through $q$. A neighbour keeps its clean label (distributed as the clean
# neighbourhood distribution $C_s$) unless it was one of the fraction $\gamma$ selected for
# corruption, in which case its label is redrawn from the row of the corruption matrix $P$:
#
# $$
# q_j = (1 - \gamma)\, C_s(\ell_j) + \gamma \sum_k P(\ell_j \mid \ell_k)\, C_s(\ell_k). \qquad \text{(Eq. 3)}
# $$
#
# The expected accuracy (Eq. 1) is the mean of $Q$ over the test set. The authors evaluate Eq. 2 through
# the nested binomial sums of Eq. 4 with a multithreaded C++ program in arbitrary precision, up to an hour
# per figure on 8 cores.
#
# ## How `knnoise` evaluates it
#
# `plurality_accuracy` conditions on the true label's count $t$:
# $\Pr(n_i = t) = \mathrm{Binom}(K, t; q_i)$, and given $t$ the other $K - t$ draws are multinomial with
# $p_j = q_j / (1 - q_i)$. The probability $G_t(m)$ that $m$ such draws leave every other label below $t$
# is a dynamic programme over the labels, in which $g_j(s)$ is the probability that $s$ draws among the
# first $j$ labels leave each of them below $t$:
#
# $$
# g_j(s) = \sum_{n \le t-1} \mathrm{Binom}\!\left(s, n; \pi_j\right) g_{j-1}(s - n),
# \qquad \pi_j = \tfrac{p_j}{p_1 + \dots + p_j}.
# $$
#
# Written for the scaled states $u_j(s) = g_j(s)\,\rho^s / s!$, a step is a short convolution with a
# kernel that does not depend on $s$:
#
# $$
# u_j(s) = \sum_{n \le t-1} \frac{(\rho \pi_j)^n}{n!}\,(1 - \pi_j)^{s-n}\, u_{j-1}(s - n).
# $$
#
# Every term is positive, so there is no cancellation, and with $\rho = K/e$ every factor $\rho^s/s!$
# lies between about $1/\sqrt{2\pi K}$ and $e^{K/e}$: nothing overflows or underflows for $K$ up to
# 2000 (Eq. 4 carries $K!$-sized multinomial coefficients). Four observations make it fast:
#
# 1. every $t > K/2$ wins outright (no other label can reach it), and every $t > K/3$ needs no DP either:
#    with fewer than $2t$ other draws at most one other label can reach $t$, so $G_t$ is one minus a sum
#    of binomial tails;
# 2. one pass over $m = 0 .. K_{\max} - t$ gives $G_t$ for **every** $K$ of a sweep at once, so the curves
#    for $K = 1..80$ cost about as much as $K = 80$ alone;
# 3. the kernel is computed once per label, the sums run four states at a time over contiguous memory,
#    and states that cannot reach the needed $m$ (or that the remaining labels cannot fill) are skipped;
# 4. terms whose total weight is provably below a tolerance are skipped: values of $t$ with negligible
#    $\mathrm{Binom}(K, t; q_i)$, and labels too unlikely to reach the cap (a union bound), which are merged
#    into one unconstrained label. The default tolerance `1e-14` bounds the absolute error of each
#    probability; `tol=0` switches pruning off.
#
# Ties: `strict` (the paper: a tie for first is wrong), `lowest` (scikit-learn's `KNeighborsClassifier`
# gives a tie to the lowest label index) and `random` (expected credit $1/\#\text{tied}$, written as
# $\int_0^1 x^{\#\text{tied}}\,dx$ and integrated exactly by Gauss–Legendre quadrature).
#
# ## Exactness: solver vs brute force vs Monte Carlo
#
# For random $q$ (Dirichlet), the solver's probability that the most likely label wins, against
# enumerating every count vector of Eq. 2 and against a Monte Carlo vote of {glue:text}`theory_mc_samples:,d`
# draws, for each tie rule:

# %% tags=["hide-input"]
checks = theorem_checks.exactness(p)
glue_values(
    theory_mc_samples=p.mc_samples, theory_brute_max=checks["|solver - brute|"].max(),
    theory_mc_max=checks["|solver - MC| / se"].max(),
)  # fmt: skip
theorem_checks.styled_checks(checks)

# %% [markdown]
# Brute force enumerates every count vector and is feasible only for a handful of labels; there the solver
# agrees to rounding (largest difference {glue:text}`theory_brute_max:.1e`). For $L = 100$ and $L = 1000$
# the solver sits within a few standard errors of the Monte Carlo vote (at most
# {glue:text}`theory_mc_max:.2f` over every row; the test suite asserts both).
#
# ## The ideal curves: uniform vs flip noise
#
# Take a perfectly clean neighbourhood ($C_s$ one-hot on the true label) with $L$ classes. Uniform noise
# (every selected label redrawn uniformly over all $L$ labels, so only $\gamma (L-1)/L$ of the labels
# actually change) leaves the true label with $q_i = 1 - \gamma (L-1)/L$ and each other label with
# $\gamma / L$: the true label stays the most likely one for every $\gamma < 1$. Flip noise sends every
# selected label to one fixed other class, which overtakes the true one at $\gamma = 1/2$.
#
# ```{glue:figure} theory_ideal
# :name: fig-theory-ideal
#
# Eq. 1–3 for one-hot clean neighbourhoods with $L$ = {glue:text}`theory_n_labels` classes under uniform
# (left) and flip noise (right), one line per K (strict ties, as in the paper).
#
# {download}`Data behind this figure (CSV) <results/theory/theory_ideal.csv>`
# ```
#
# Per K, the first noise level of {numref}`fig-theory-ideal` at which the accuracy drops below one half:

# %% tags=["hide-input"]
gammas = theorem_checks.noise_axis(p.n_gammas)
ideal = theorem_checks.ideal_curves(p.n_labels, gammas, p.ks)
glue_figure("theory_ideal", plots.accuracy_curves(gammas, ideal, p.ks))
crossing = theorem_checks.crossings(gammas, ideal, p.ks)
glue_values(
    theory_n_labels=p.n_labels, theory_k_max=p.ks[-1], theory_uniform_cross=crossing.iloc[-1, 0],
    theory_flip_cross=crossing.iloc[-1, 1],
)  # fmt: skip
crossing

# %% [markdown]
# The larger K, the sharper the step: a large neighbourhood averages the noise away until the true label
# stops being the most likely one — at $\gamma = 1/2$ for flip noise, and only close to $\gamma = 1$ for
# uniform noise (at K = {glue:text}`theory_k_max`, below one half from $\gamma$ =
# {glue:text}`theory_flip_cross:.3f` and {glue:text}`theory_uniform_cross:.3f` respectively). K = 1 is
# the exception: it copies a single neighbour, so its accuracy is $q_i$ itself and falls linearly. This is
# the paper's point in its purest form: the same amount of randomly spread noise is harmless or fatal
# depending on whether it is spread over all classes or concentrated on one.
#
# ## Ties: what the vote does with even K
#
# With an even K two labels can tie for first. The paper counts a tie as wrong (`strict`); a real K-NN
# breaks it, at random or — scikit-learn — in favour of the lowest label index (`lowest`, averaged over
# the true labels here).
#
# ```{glue:figure} theory_ties
# :name: fig-theory-ties
#
# The ideal curves of {numref}`fig-theory-ideal` for even K under each tie rule (solid: strict; dashed:
# random; dotted: lowest).
#
# {download}`Data behind this figure (CSV) <results/theory/theory_ties.csv>`
# ```

# %% tags=["hide-input"]
ties = theorem_checks.tie_curves(p.n_labels, gammas, p.even_ks)
styles = {"strict": {"linestyle": "-"}, "random": {"linestyle": "--"}, "lowest": {"linestyle": ":"}}
glue_figure("theory_ties", plots.accuracy_curves(gammas, ties, p.even_ks, styles=styles))
glue_values(theory_tie_gap=theorem_checks.tie_gap(ties))

# %% [markdown]
# For flip noise with even K the strict rule loses every exact split between the true and the flipped
# label, which costs most near $\gamma = 1/2$ and for small K; random tie-breaking recovers half of it
# (the largest difference between the random and the strict curves of {numref}`fig-theory-ties` is
# {glue:text}`theory_tie_gap:.3f`). When comparing with an empirical K-NN, use the tie rule the
# classifier actually applies.
#
# ## Speed against a plain DP of Eq. 4
#
# `knnoise.theory.reference.plain_eq4_accuracy` is Eq. 4 as written: for every $t = 1..K$, the nested
# binomial sums over the other labels as a DP, compiled with numba and run in parallel like the solver.
# Both are timed here on the same {glue:text}`theory_speed_rows` Dirichlet-random $q$ with $L$ =
# {glue:text}`theory_n_labels` (after compilation; the best of three); `make bench` runs the full
# benchmark.

# %% tags=["hide-input"]
timing = theorem_checks.speed(p)
glue_values(
    theory_speed_rows=timing.rows, theory_speed_k=timing.k, theory_speed_diff=timing.max_difference,
    theory_speedup_one=timing.speedup_one, theory_speedup_all=timing.speedup_all,
)  # fmt: skip
for claim in theorem_checks.claims(checks, crossing, timing, p.n_labels, p.ks):
    record("theory", *claim)
timing.styled()

# %% [markdown]
# The two agree to {glue:text}`theory_speed_diff:.1e`.
#
# ## What we see
#
# The solver reproduces brute-force enumeration to rounding and Monte Carlo within its error bars, at any
# number of labels. The ideal curves already carry the paper's message: randomly spread uniform noise is
# resisted almost to the end, flip noise only up to one half, and a larger K sharpens both transitions.
# For a single K (here K = {glue:text}`theory_speed_k`) the solver was {glue:text}`theory_speedup_one:.0f`×
# faster than the plain DP; its real gain is the sweep — all K = 1..{glue:text}`theory_speed_k` at once,
# still {glue:text}`theory_speedup_all:.0f`× faster than the plain DP at one K — which is what turns the
# paper's hour per figure into seconds (`make bench`).
