"""Judges the LeakSanitizer report of .ci/leak_smoke.py (see .ci/sanitize).

    python .ci/leak_check.py LOG...      (the files ASan's log_path wrote; missing ones = none)

Fails (exit 1) on any AddressSanitizer error, and on any leak whose allocation stack has a
frame in nerve's extension module (_core*.so: the bindings, the kernels linked into it, and the
pybind11 code compiled there), so also on Python objects that nerve allocated and lost a
reference to (the run uses PYTHONMALLOC=malloc, so those are malloc blocks LSan sees).
Leaks with no such frame are the interpreter's and NumPy's own (Python does not free all of
its memory at exit); they are counted, not failed on. No LSan suppression file is used: a
suppression matches any frame of a stack, and every stack of nerve's runs through libpython,
so scoping by module has to be done here. What pybind11 keeps for the process's lifetime
(internals, function records) stays reachable and is not reported. Stack frames carry their module (`<module path>`: .ci/sanitize sets
stack_trace_format), which is what this script matches on."""
import re
import sys

NERVE_MODULE = re.compile(r"<[^<>]*/_core[^/<>]*\.so>")
BLOCK_HEAD = re.compile(r"^(Direct|Indirect) leak of (\d+) byte\(s\) in (\d+) object\(s\)")


def blocks(text):
    """[(head, frames)] for each leak in a LeakSanitizer report."""
    found, frames = [], None
    for line in text.splitlines():
        if BLOCK_HEAD.match(line):
            frames = []
            found.append((line, frames))
        elif frames is not None and line.strip().startswith("#"):
            frames.append(line)
        elif line.strip():
            frames = None
    return found


def main(paths):
    texts = []
    for path in paths:
        try:
            with open(path, errors="replace") as f:
                texts.append((path, f.read()))
        except FileNotFoundError:
            pass  # no log: nothing was reported
    failed = False
    ours = theirs = 0
    for path, text in texts:
        errors = [line for line in text.splitlines()
                  if "ERROR: AddressSanitizer" in line or "runtime error:" in line]
        if errors:
            print(f"leak_check: sanitizer error in {path}:\n{text}", file=sys.stderr)
            failed = True
        for head, frames in blocks(text):
            if any(NERVE_MODULE.search(frame) for frame in frames):
                ours += 1
                print(f"leak_check: leak from nerve's extension:\n{head}\n" + "\n".join(frames),
                      file=sys.stderr)
            else:
                theirs += 1
    if ours:
        print(f"leak_check: FAILED: {ours} leak(s) allocated under nerve's _core module",
              file=sys.stderr)
        failed = True
    print(f"leak_check: {ours} leak(s) from nerve, {theirs} from the interpreter/NumPy "
          f"(ignored) in {len(texts)} log(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
