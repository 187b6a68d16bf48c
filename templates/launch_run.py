"""Flex template entry point of the translate-train job (FLEX_TEMPLATE_PYTHON_PY_FILE)."""

import sys

from pipeline.run import main

if __name__ == "__main__":
    sys.exit(main())
