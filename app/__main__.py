import multiprocessing
import os
import sys

from app import cli
from app.cli import main

if __name__ == "__main__":  # worker processes import this module again; they must not run the CLI
    # Whatever this process and its children (workers, the API) write is its user's alone:
    # the history, preferences, uploads, models. Exports were already (files.write_atomic).
    os.umask(0o077)
    multiprocessing.freeze_support()
    code = main()
    if cli.ran_window:
        # Everything is saved and stopped by now (the window's close, app.ui.app.run).
        # Tearing the interpreter down object by object after Qt has gone crashed now and
        # then inside a C extension's destructor (seen in bench/bench_gui.py); a person
        # would see "quit unexpectedly". So the window's process ends here.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
