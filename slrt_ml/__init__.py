"""slrt_ml: measure and reduce miss-targeting in Indonesia's PKH cash transfer.

Heavy libraries (TensorFlow, MLflow, SHAP) are imported inside the functions that need
them, so ``import slrt_ml`` stays fast.
"""

__version__ = "0.1.0"
