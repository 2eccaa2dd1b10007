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
        'test': ['pytest', 'pytest-xdist', 'optax', 'orbax-checkpoint>=0.12'],
        'bench': ['optax', 'flax'],
        # Checkpoints of weights split over devices (Loop(mesh=...) with a model axis).
        'sharded': ['orbax-checkpoint>=0.12'],
    },
    entry_points={'console_scripts': ['trax-convert=converters.__main__:main']},
)
