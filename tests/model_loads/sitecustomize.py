"""Counts model loads in every Python process of a test's job (put this folder first on
PYTHONPATH and name a journal in ``XLNER_TEST_MODEL_LOADS``): the job, Beam's
model-sharing server and SDK workers all start Python, so all of them count.

Each line of the journal is ``<pid> <kind> <model>``: ``load_model`` when a model handler's
``load_model`` made a model facade (``LazyModel``; only the handlers make them) and
``build`` when a facade built the model, i.e. loaded its weights. A test module, not
shipped: see ``tests/model_loads.py`` for the reader.
"""

import os


def _install(journal: str) -> None:
    from xlner.models import lazy

    original = lazy.LazyModel.__init__

    def write(kind: str, model) -> None:
        fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:  # one short write per line: O_APPEND keeps lines whole across processes
            os.write(fd, f"{os.getpid()} {kind} {model}\n".encode("utf-8"))
        finally:
            os.close(fd)

    def counted_init(self, build, *args):
        model = args[0] if args else "?"
        write("load_model", model)

        def counted_build(*a):
            write("build", model)
            return build(*a)

        original(self, counted_build, *args)

    lazy.LazyModel.__init__ = counted_init


if os.environ.get("XLNER_TEST_MODEL_LOADS"):
    _install(os.environ["XLNER_TEST_MODEL_LOADS"])
