"""Keras-style scripts written once and run with either library.

See tests/parity/test_keras_scripts.py.

Each module has ``run(keras)``: the script's text, using only the ``keras`` module it is given
(``import keras`` or ``import minicnn as keras``) and relative paths in the current directory;
it returns what the test compares between the two libraries.
"""
