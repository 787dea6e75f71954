"""Prediction: rebuild a trained run from its checkpoint (predictor.py), digit-image preprocessing
(images.py) and exports for use outside the lab (export/)."""
