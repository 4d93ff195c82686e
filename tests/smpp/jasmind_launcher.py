"""Run jasmind.py with its process lock in our work dir instead of the machine-wide /tmp/jasmind.

jasmind takes `lockfile.FileLock("/tmp/jasmind")` so that one instance runs per machine (jookies/jasmin
#265): that would keep two test runs (or worktrees) from running side by side, and a SIGKILLed jasmind
leaves the lock behind. Runs under Jasmin's own interpreter: `python jasmind_launcher.py LOCK JASMIND ARGS...`.
"""

import runpy
import sys

import lockfile

sys.path.pop(0)  # this folder holds tests/smpp/jasmin.py, which must not shadow the `jasmin` package
lock_path, jasmind = sys.argv[1], sys.argv[2]
_file_lock = lockfile.FileLock
lockfile.FileLock = lambda _path, *args, **kwargs: _file_lock(lock_path, *args, **kwargs)
sys.argv = [jasmind, *sys.argv[3:]]
runpy.run_path(jasmind, run_name="__main__")
