"""Not a package to import: this file only makes pytest load docs/conftest.py as
`docs.conftest`, so that it does not replace tests/conftest.py as the module `conftest`
(which tests import from)."""
