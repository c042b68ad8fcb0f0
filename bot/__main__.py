"""`python -m bot [--no-emulator]` is `policybot serve`."""

import sys

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
