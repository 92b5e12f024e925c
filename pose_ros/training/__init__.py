"""Training and data generation (not needed at run time): motion synthesis, recordings, training, demo media."""
