"""`fcnn tune`: hyperparameter search on Optuna (space file, study, search, best config)."""
