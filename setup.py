"""Installs trax (JAX combinator library), trax_keras (Keras 3 adapter) and converters."""

import setuptools

setuptools.setup(
    name='trax',
    version='2.0.0.dev0',
    description='Write a model once, train it under JAX/XLA, ship it through TensorFlow.',
    packages=setuptools.find_packages(include=['trax', 'trax.*', 'trax_keras', 'trax_keras.*',
                                               'converters', 'converters.*']),
    package_data={'trax': ['data/testdata/*']},
    python_requires='>=3.10',
    install_requires=[
        'jax<0.11',
        'jaxlib<0.11',
        'numpy',
        'absl-py',
        'tensorflow',
        'keras>=3',
        'tensorboard',  # Keras' TensorBoard callback needs it; TensorFlow no longer brings it.
        'ai-edge-litert',
        'sentencepiece',
    ],
    extras_require={
        # gin-config and tensorflow-datasets let the tests run Trax 1.4 .gin configs and
        # TFDS data on disk; tensor2tensor (installed with --no-deps when wanted) is an
        # optional oracle of the subword vocabularies. keras-hub's models (built from their
        # configuration, nothing downloaded) test from_keras' wrapping.
        'test': ['pytest', 'pytest-xdist', 'optax', 'gin-config', 'tensorflow-datasets',
                 'importlib_resources', 'keras-hub', 'orbax-checkpoint>=0.12'],
        'gin': ['gin-config'],
        'tfds': ['tensorflow-datasets', 'importlib_resources'],
        'bench': ['optax', 'flax'],
        # Checkpoints of weights split over devices (Loop(mesh=...) with a model axis).
        'sharded': ['orbax-checkpoint>=0.12'],
    },
    entry_points={'console_scripts': ['trax-convert=converters.__main__:main']},
)
