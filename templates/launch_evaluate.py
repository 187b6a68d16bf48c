"""Flex template entry point of the evaluation job (FLEX_TEMPLATE_PYTHON_PY_FILE)."""

import sys

from pipeline.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
