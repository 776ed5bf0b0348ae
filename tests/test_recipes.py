"""docs/recipes.md stays true: every ```python block runs, as a program of its own in a child
process in a fresh folder, and must exit 0. A block preceded by `<!-- needs: a b -->` is skipped,
naming them, where those modules are missing; `<!-- run: mpiexec -n N -->` runs it under
mpiexec (skipped without mpi4py and mpiexec). The ```bash blocks are not run, but the bench
scripts and options they name must exist."""
import importlib.util
import os
import re
import shutil
import subprocess
import sys

import pytest

from helpers import mpi_environment, oversubscribe

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = os.path.join(ROOT, "docs", "recipes.md")
RUN_SECONDS = 300  # a guard against a hang, far above a recipe's seconds: not a timing test
BLOCK = re.compile(r"((?:<!--[^\n]*-->\n)*)```(\w+)\n(.*?)```", re.S)


def blocks(language):
    """[(heading, directives, code)] of the page's blocks in `language`, in order."""
    with open(RECIPES, encoding="utf-8") as page:
        text = page.read()
    found = []
    for match in BLOCK.finditer(text):
        if match.group(2) != language:
            continue
        headings = re.findall(r"^## (.+)$", text[:match.start()], re.M)
        directives = dict(re.findall(r"<!-- (\w+): ([^>]*?) -->", match.group(1)))
        found.append((headings[-1] if headings else "top", directives, match.group(3)))
    return found


def _launcher(directives):
    """The command prefix that runs the recipe (mpiexec for `run:`), or pytest.skip."""
    missing = [name for name in directives.get("needs", "").split()
               if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}, not installed")
    if "run" not in directives:
        return []
    command = directives["run"].split()
    if shutil.which(command[0]) is None:
        pytest.skip(f"needs {command[0]}: pip install \".[distributed]\"")
    return command + oversubscribe(command[0])


PYTHON_BLOCKS = blocks("python")


def test_the_page_has_its_recipes():
    assert len(PYTHON_BLOCKS) >= 12, [heading for heading, _, _ in PYTHON_BLOCKS]


@pytest.mark.parametrize("heading, directives, code", PYTHON_BLOCKS,
                         ids=[heading for heading, _, _ in PYTHON_BLOCKS])
def test_recipe_runs(heading, directives, code, tmp_path):
    command = _launcher(directives)
    script = tmp_path / "recipe.py"
    script.write_text(code, encoding="utf-8")
    done = subprocess.run(command + [sys.executable, str(script)], cwd=tmp_path,
                          env=mpi_environment(), capture_output=True, text=True,
                          timeout=RUN_SECONDS)
    assert done.returncode == 0, f"recipe {heading!r} failed:\n{done.stdout}\n{done.stderr}"


def test_the_bench_commands_name_real_scripts_and_options():
    commands = [line for _, _, code in blocks("bash") for line in code.splitlines()
                if "bench/" in line]
    assert commands
    for line in commands:
        for script, options in re.findall(r"python (bench/\w+\.py)((?: --[\w-]+)*)", line):
            with open(os.path.join(ROOT, script), encoding="utf-8") as source:
                text = source.read()
            for option in options.split():
                assert f'"{option}"' in text, f"{script} has no option {option}: {line}"
