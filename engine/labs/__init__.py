"""Teaching labs: small, exact computations the dashboard shows beside the formulas.

gradcheck (four gradients of one loss: numgrad's central differences, backprop_layers' hand-written
layers, autograd), numgrad_training (numerical-gradient training driven by the Trainer), timing (one
epoch per batch size) and timing_estimate (its duration in seconds before it starts), softmax
(softmax/cross-entropy by formula and autograd), linreg (gradient descent on y = b + w·x) and
regression_tables (its tables), generative (Gaussian classifiers vs logistic regression on Pokémon).
"""
