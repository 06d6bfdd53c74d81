"""The empirical K-NN side of the paper: a neighbour graph computed once, then votes for many K and many
label vectors, and the clean neighbourhood distribution ``C_s`` of Eq. 3.

The neighbours of a test example do not depend on the training labels. :func:`neighbor_graph`
(:mod:`knnoise.knn.graph`) finds the exact ``k_max`` nearest training examples of every test example once
(cached on disk); then :func:`knn_predict` / :func:`knn_accuracy` (:mod:`knnoise.knn.votes`) re-read any
number of label vectors (noise draws, noise levels) through the graph and vote for every requested K in
one pass, and :func:`clean_distribution` gives the label histogram of the K nearest clean neighbours, the
input ``C_s`` of Eq. 3 that the analytic side (:func:`knnoise.expected_accuracy`) turns into a predicted
accuracy. Votes use the tie modes :data:`TIE_MODES` of the analytic solver.
"""

from knnoise._checks import TIE_MODES
from knnoise.knn.graph import NeighborGraph, neighbor_graph
from knnoise.knn.votes import clean_distribution, knn_accuracy, knn_predict

__all__ = [
    "TIE_MODES",
    "NeighborGraph",
    "clean_distribution",
    "knn_accuracy",
    "knn_predict",
    "neighbor_graph",
]
