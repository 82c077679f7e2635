"""``python -m consumers.notifier [options]``: the same as ``aduan notifier [options]``."""

import sys

from consumers.cli import main

if __name__ == "__main__":
    sys.argv = [sys.argv[0], "notifier", *sys.argv[1:]]
    main()
