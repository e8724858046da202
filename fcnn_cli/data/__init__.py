"""Data: the named datasets and the user's files, the train/val/test split, image files."""

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp")
