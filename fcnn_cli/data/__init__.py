"""Data: the named datasets and the user's files, the train/val/test split, image files."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp")

# The 2-D teaching datasets, drawn from the config's seed (planar.py); named here, free of
# NumPy, so that reading a config stays light.
PLANAR_DATASETS = ("xor", "circle", "gauss", "spiral", "moons")
