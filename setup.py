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
        'ai-edge-litert',
        'sentencepiece',
    ],
    extras_require={
        'test': ['pytest', 'pytest-xdist', 'optax', 'keras-hub'],
        'bench': ['optax', 'flax'],
    },
    entry_points={'console_scripts': ['trax-convert=converters.__main__:main']},
)
