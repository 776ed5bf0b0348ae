"""What a release needs: one version everywhere, type information, and (in a repaired wheel)
the OpenMP runtime it bundles being the one that is loaded and that threadpoolctl limits."""
import importlib.metadata
import pathlib
import re

import pytest

import nerve

PACKAGE = pathlib.Path(nerve.__file__).resolve().parent
PYPROJECT = pathlib.Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_the_version_is_pyprojects_everywhere():
    if not PYPROJECT.exists():
        pytest.skip("no pyproject.toml beside the tests")
    written = re.search(r'^version = "([^"]+)"$', PYPROJECT.read_text(), re.M).group(1)
    assert nerve.__version__ == written
    assert nerve.build_info()["version"] == written


def test_the_version_is_the_installed_distributions():
    try:
        distribution = importlib.metadata.distribution("nerve")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("nerve runs from a build folder, not an installed distribution")
    init = distribution.locate_file("nerve/__init__.py")
    if not init.exists() or pathlib.Path(init).resolve() != PACKAGE / "__init__.py":
        pytest.skip("the nerve imported is not the installed distribution's")
    assert nerve.__version__ == distribution.version


def test_the_package_declares_its_type_hints():
    assert (PACKAGE / "py.typed").is_file()


def bundled_library_folder():
    """Where auditwheel (nerve.libs beside the package) or delocate (nerve/.dylibs) put the
    shared libraries a repaired wheel carries; None for a build that links the system's."""
    for folder in (PACKAGE.parent / "nerve.libs", PACKAGE / ".dylibs"):
        if folder.is_dir():
            return folder
    return None


def test_a_repaired_wheel_runs_and_limits_its_bundled_openmp():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    folder = bundled_library_folder()
    if folder is None or not nerve.build_info()["openmp"]:
        pytest.skip("not a repaired wheel with OpenMP")
    bundled = [info for info in threadpoolctl.threadpool_info()
               if info["user_api"] == "openmp"
               and pathlib.Path(info["filepath"]).resolve().parent == folder.resolve()]
    assert bundled, f"no OpenMP runtime from {folder} is loaded"
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert nerve.get_num_threads() == 1
