import multiprocessing
import sys

from app.cli import main

if __name__ == "__main__":  # worker processes import this module again; they must not run the CLI
    multiprocessing.freeze_support()
    sys.exit(main())
