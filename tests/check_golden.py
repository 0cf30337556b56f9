#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Golden-output test: run a command, compare its stdout with a file.

usage: check_golden.py [--fail|--stderr] GOLDEN_FILE COMMAND [ARGS...]

Exit 0 when stdout equals the file byte for byte and the command exits 0;
otherwise print a unified diff and exit 1.  With --fail the command must
exit non-zero and its stderr is compared instead (error messages people
read).  With --stderr the command must succeed and its stderr is compared
(trace output).  With UIOMMU_GOLDEN_UPDATE=1 the file is (re)written from the output
instead.
"""
import difflib
import os
import subprocess
import sys


def main():
    args = sys.argv[1:]
    expect_fail = args[0] == "--fail"
    want_stderr = expect_fail or args[0] == "--stderr"
    if args[0] in ("--fail", "--stderr"):
        args = args[1:]
    golden, cmd = args[0], args[1:]
    run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, timeout=60, check=False)
    if (run.returncode != 0) != expect_fail:
        print(f"{' '.join(cmd)}: exit {run.returncode}\n{run.stderr}")
        return 1
    out = run.stderr if want_stderr else run.stdout
    if os.environ.get("UIOMMU_GOLDEN_UPDATE") == "1":
        with open(golden, "w", encoding="utf-8") as f:
            f.write(out)
        return 0
    with open(golden, encoding="utf-8") as f:
        want = f.read()
    if out == want:
        return 0
    sys.stdout.writelines(difflib.unified_diff(
        want.splitlines(True), out.splitlines(True),
        fromfile=golden, tofile="output"))
    return 1


if __name__ == "__main__":
    sys.exit(main())
