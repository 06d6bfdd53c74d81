"""knnoise: executable companion to Drory et al., "The Resistance to Label Noise in K-NN and DNN
Depends on its Concentration"."""

from knnoise.theory import expected_accuracy, noisy_label_distribution, plurality_accuracy

__all__ = ["expected_accuracy", "noisy_label_distribution", "plurality_accuracy"]
__version__ = "0.1.0"
