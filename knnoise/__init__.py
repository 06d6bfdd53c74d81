"""knnoise: executable companion to Drory et al., "The Resistance to Label Noise in K-NN and DNN
Depends on its Concentration"."""

__version__ = "0.1.0"
