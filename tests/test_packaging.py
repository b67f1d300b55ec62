"""The install: locks that agree with pyproject.toml, every import declared, the wheel, and
quiet ``adw`` commands (issue 15)."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
BUILD = PYPROJECT["build-system"]["requires"]
ADW = Path(sys.executable).parent / "adw"

# lock -> the requirements of pyproject.toml it must satisfy (as .ci/lock.py compiles them)
LOCKS = {
    "dev": [*PROJECT["dependencies"], *PROJECT["optional-dependencies"]["dev"], *BUILD],
    "app": [*PROJECT["dependencies"], *BUILD],
    "app-bigquery": [
        *PROJECT["dependencies"],
        *PROJECT["optional-dependencies"]["bigquery"],
        *BUILD,
    ],
    "bigquery-emulator": PYPROJECT["dependency-groups"]["bigquery-emulator"],
    "bench": PYPROJECT["dependency-groups"]["bench"],
}
PIN = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$"
)


def pins(lock: str) -> dict[str, list[tuple[str, str | None]]]:
    """name -> [(version, marker)] of requirements/<lock>.txt."""
    found: dict[str, list[tuple[str, str | None]]] = {}
    for line in (ROOT / "requirements" / f"{lock}.txt").read_text().splitlines():
        if match := PIN.match(line):
            name, version, marker = match.groups()
            found.setdefault(canonicalize_name(name), []).append((version, marker))
    return found


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock_pins_every_declared_requirement_within_its_range(lock):
    pinned = pins(lock)
    assert pinned, f"requirements/{lock}.txt pins nothing"
    for line in LOCKS[lock]:
        requirement = Requirement(line)
        versions = pinned.get(canonicalize_name(requirement.name))
        assert versions, f"{requirement.name} is declared but not in requirements/{lock}.txt"
        for version, _marker in versions:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"requirements/{lock}.txt pins {requirement.name}=={version}, outside "
                f"{requirement.specifier}: run `make lock`"
            )


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_lock_pins_exact_versions_with_hashes(lock):
    text = (ROOT / "requirements" / f"{lock}.txt").read_text()
    entries = [line for line in text.splitlines() if line and not line[0].isspace()]
    entries = [line for line in entries if not line.startswith("#")]
    assert entries and all("==" in line for line in entries), entries[:5]
    assert text.count("--hash=sha256:") >= len(entries)


def test_the_dev_environment_is_the_dev_lock():
    """`make install` installed exactly the pinned versions (those for this platform)."""
    env = default_environment()
    wrong = []
    for name, versions in pins("dev").items():
        wanted = [v for v, marker in versions if not marker or _marker(marker).evaluate(env)]
        if not wanted:
            continue
        installed = importlib.metadata.version(name)
        if installed not in wanted:
            wrong.append(f"{name} {installed} (lock: {wanted[0]})")
    assert not wrong, f"run `make install`: {wrong}"


def _marker(text: str):
    from packaging.markers import Marker

    return Marker(text)


def test_every_image_extra_has_a_lock():
    """The Dockerfile installs requirements/app[-<extras>].txt (ADW_IMAGE_EXTRAS)."""
    for extra in PROJECT["optional-dependencies"]:
        if extra != "dev":
            assert (ROOT / "requirements" / f"app-{extra}.txt").is_file(), extra
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements/app*.txt" in dockerfile
    assert "--require-hashes" in dockerfile


# --- every import is declared ---------------------------------------------------------------

FIRST_PARTY = {"adw_assets", "dashboard", "tests", "bench"}
# code that runs in another environment than .venv: its imports are declared there
OTHER_ENVIRONMENTS = {"tests/bigquery/emulator_main.py": "bigquery-emulator"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _distributions_of(module: str) -> set[str]:
    """The installed distributions that provide ``module`` (its longest importable prefix)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        name = ".".join(parts[:n])
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None or spec.origin in (None, "built-in", "frozen"):
            continue
        return _owners(Path(spec.origin).resolve())
    return set()


_FILES: dict[Path, str] = {}


def _owners(path: Path) -> set[str]:
    if not _FILES:
        for dist in importlib.metadata.distributions():
            for file in dist.files or []:
                _FILES[Path(dist.locate_file(file)).resolve()] = canonicalize_name(
                    dist.metadata["Name"]
                )
    return {_FILES[path]} if path in _FILES else set()


def test_every_import_of_the_package_and_the_tests_is_declared():
    """A module adw or its tests import comes from a distribution they declare, never from a
    dependency of a dependency (numpy, google-cloud-bigquery, jsonschema, requests, ...)."""
    runtime = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    dev = runtime | {
        canonicalize_name(Requirement(r).name) for r in PROJECT["optional-dependencies"]["dev"]
    }
    undeclared = []
    for folder in ("adw_assets", "dashboard", "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative in OTHER_ENVIRONMENTS:
                group = PYPROJECT["dependency-groups"][OTHER_ENVIRONMENTS[relative]]
                declared = {canonicalize_name(Requirement(r).name) for r in group}
                # not importable here: compare top-level names with the group's
                for module in _imports(path):
                    top = module.split(".")[0]
                    if top in sys.stdlib_module_names or top in FIRST_PARTY:
                        continue
                    if canonicalize_name(top) not in declared:
                        undeclared.append(f"{relative}: {module}")
                continue
            declared = runtime if folder in ("adw_assets", "dashboard") else dev
            for module in _imports(path):
                top = module.split(".")[0]
                if top in sys.stdlib_module_names or top in FIRST_PARTY or top == "__future__":
                    continue
                owners = _distributions_of(module)
                if not owners & declared:
                    undeclared.append(f"{relative}: {module} ({', '.join(owners) or '?'})")
    assert not undeclared, "declare in pyproject.toml:\n" + "\n".join(undeclared)


# --- quiet commands ---------------------------------------------------------------------------


def _adw(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ADW), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_adw_version_prints_the_installed_version(tmp_path):
    done = _adw("--version", env=dict(os.environ), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"adw {importlib.metadata.version('adw')}"


@pytest.mark.parametrize("args", [["--help"], ["source", "status"], ["--version"]])
def test_commands_print_no_warning_without_a_login_environment(tmp_path, args):
    """As root, in CI or a container XDG_RUNTIME_DIR is unset: no RuntimeDirWarning (nor any
    other warning) on stderr."""
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env.pop("PYTHONWARNINGS", None)
    done = _adw(*args, env=env, cwd=tmp_path)
    assert done.returncode in (0, 3), done.stderr  # `source status`: 3 when not running
    assert done.stdout
    assert done.stderr == ""


# --- the wheel --------------------------------------------------------------------------------

WHEEL_SOURCES = ["pyproject.toml", "setup.py", "README.md", "adw_assets", "dbt", "dashboard"]
BUILD_OUTPUT = ("target", "logs", "dbt_packages", "__pycache__", ".adw", "*.egg-info")


def _files(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.slow
def test_the_wheel_installs_in_a_fresh_environment_and_runs_adw_up_in_an_empty_folder(tmp_path):
    """`pip install dist/adw-*.whl` (not editable) into a venv holding the app's lock, then
    `adw up` in an empty folder with no ADW_* variable: the dbt project and the dashboard come
    from inside the package, and adw writes nothing there (its state goes to ./.adw)."""
    import shutil

    source = tmp_path / "source"
    source.mkdir()
    for name in WHEEL_SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns(*BUILD_OUTPUT))
        else:
            shutil.copy(path, source / name)
    dist = tmp_path / "dist"
    run = {"capture_output": True, "text": True, "timeout": 900}
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(dist), str(source)],
        **run,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = dist.glob("adw-*.whl")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    uv = Path(sys.executable).parent / "uv"
    synced = subprocess.run(
        [str(uv), "pip", "sync", "--quiet", "--require-hashes", "--python", str(python),
         str(ROOT / "requirements" / "app.txt")],
        **run,
    )  # fmt: skip
    assert synced.returncode == 0, synced.stderr[-3000:]
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], **run
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    where = "import adw_assets, os; print(os.path.dirname(adw_assets.__file__))"
    package = Path(subprocess.check_output([str(python), "-c", where], cwd=tmp_path, text=True))
    package = Path(str(package).strip())
    assert (package / "dbt_project" / "dbt_project.yml").is_file()
    assert (package / "dashboard" / "app.py").is_file()
    assert not (package / "dbt_project" / "target").exists()
    before = _files(package)

    work = tmp_path / "empty"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADW_", "DAGSTER_HOME"))}
    env.pop("XDG_RUNTIME_DIR", None)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), "/usr/bin", "/bin"])
    adw = str(venv / "bin" / "adw")
    try:
        up = subprocess.run(
            [adw, "up", "--scale", "0.02", "--events", "200"], cwd=work, env=env, **run
        )
    finally:
        subprocess.run([adw, "source", "stop"], cwd=work, env=env, **run)
    assert up.returncode == 0, (up.stdout + up.stderr)[-4000:]
    assert "dashboard:   adw dashboard" in up.stdout  # the adw on PATH, not .venv/bin/adw
    assert "Warning" not in up.stderr, up.stderr
    assert "Traceback" not in up.stderr
    assert (work / ".adw" / "warehouse.duckdb").is_file()
    assert (work / ".adw" / "dbt" / "target" / "local" / "manifest.json").is_file()
    assert (work / ".adw" / "serving" / "snapshot.duckdb").is_file(), "no dashboard snapshot"
    assert _files(package) == before, "adw wrote inside the installed package"
