"""The container recipes, checked without a container engine.

containers/thermocfd.def (Apptainer) must install exactly containers/packages.txt -- the
list the Dockerfile and the mmdebstrap root filesystem (which CI runs the suite in) use --
by reading that file, not a copy of it; its shell sections must parse; its runscript must
wrap commands in with-display and default to ``thermocfd info``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONTAINERS = ROOT / "containers"
DEF_FILE = CONTAINERS / "thermocfd.def"
SHELL_SECTIONS = ("post", "environment", "runscript", "test")


def parse_definition(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """(header keywords, section name -> body) of an Apptainer definition file."""
    header: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        match = re.match(r"^%(\w+)\s*$", line)
        if match:
            current = sections.setdefault(match.group(1), [])
        elif current is not None:
            current.append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition(":")
            header[key.strip()] = value.strip()
    return header, {name: "\n".join(body) for name, body in sections.items()}


def arguments(section: str) -> dict[str, str]:
    """The %arguments defaults (NAME=value per line)."""
    pairs = (line.strip().partition("=") for line in section.splitlines() if line.strip())
    return {name: value for name, _, value in pairs}


def substitute(body: str, values: dict[str, str]) -> str:
    """Apptainer's build-argument templating: {{ NAME }} -> value."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: values[m.group(1)], body)


def packages_from_list() -> list[str]:
    lines = (CONTAINERS / "packages.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


@pytest.fixture(scope="module")
def definition() -> tuple[dict[str, str], dict[str, str]]:
    return parse_definition(DEF_FILE.read_text())


def files_map(section: str) -> dict[str, str]:
    """%files: destination in the image -> source relative to the repository root."""
    entries = (shlex.split(line) for line in section.splitlines() if line.strip())
    return {dest: src for src, dest in entries}


def test_header_is_the_dockerfile_base(definition):
    header, _ = definition
    dockerfile_from = re.search(r"^FROM\s+(\S+)", (CONTAINERS / "Dockerfile").read_text(), re.M).group(1)
    assert header["Bootstrap"] == "docker"
    assert header["From"] == dockerfile_from == "debian:trixie"


def test_sections_present(definition):
    _, sections = definition
    for name in ("arguments", "files", "post", "environment", "runscript", "test", "labels", "help"):
        assert sections.get(name, "").strip(), f"%{name} missing or empty"


def test_files_exist_and_bring_the_package_list(definition):
    _, sections = definition
    files = files_map(sections["files"])
    for dest, src in files.items():
        assert (ROOT / src).exists(), f"%files source {src} (-> {dest}) is not in the repository"
    assert files["/opt/thermocfd/containers/packages.txt"] == "containers/packages.txt"
    assert files["/usr/local/bin/with-display"] == "containers/with-display"
    assert files["/opt/thermocfd/containers/pip-packages.txt"] == "containers/pip-packages.txt"
    for needed in ("pyproject.toml", "thermocfd", "tests"):
        assert f"/opt/thermocfd/{needed}" in files


def test_post_installs_exactly_packages_txt(definition, tmp_path):
    """Run %post's package pipeline (its grep | xargs line, with apt-get replaced by a
    recorder) on the real packages.txt: the recorded list is packages.txt's, and no
    package name is spelled in the def file itself."""
    _, sections = definition
    post = sections["post"]
    files = files_map(sections["files"])
    joined = post.replace("\\\n", " ")
    install = next(line for line in joined.splitlines() if "xargs apt-get install" in line)
    list_in_image = "/opt/thermocfd/containers/packages.txt"
    assert list_in_image in install and list_in_image in files
    recorder = tmp_path / "apt-get"
    recorder.write_text('#!/bin/sh\nshift 3\nprintf "%s\\n" "$@" > "$RECORD"\n')
    recorder.chmod(0o755)
    command = install.strip().replace(list_in_image, str(ROOT / files[list_in_image]))
    env = dict(os.environ, PATH=f"{tmp_path}:{os.environ['PATH']}", RECORD=str(tmp_path / "installed"))
    subprocess.run(["sh", "-c", command], check=True, env=env)
    installed = (tmp_path / "installed").read_text().split()
    assert installed == packages_from_list()
    assert "install -y --no-install-recommends" in install
    for package in packages_from_list():
        assert not re.search(rf"(?<![\w./-]){re.escape(package)}(?![\w.-])", DEF_FILE.read_text()), \
            f"{package} is spelled in thermocfd.def: it must come from packages.txt only"


def test_other_recipes_read_the_same_list():
    assert "packages.txt" in (CONTAINERS / "Dockerfile").read_text()
    assert "packages.txt" in (CONTAINERS / "build_rootfs.sh").read_text()


def test_venv_and_thermocfd_install(definition):
    _, sections = definition
    post = sections["post"]
    assert "python3 -m venv --system-site-packages /opt/venv" in post
    assert re.search(r"pip install [^\n]*--no-deps[^\n]*/opt/thermocfd\b", post)
    assert arguments(sections["arguments"]) == {"PIP_EXTRA": ""}
    # what Debian lacks, and an extra package (the GPU variant's CuPy), may never move Debian's NumPy
    joined = post.replace("\\\n", " ")
    assert re.search(r"pip install [^\n]*-c /opt/venv/numpy-pin.txt +-r /opt/thermocfd/containers/pip-packages.txt",
                     joined)
    assert re.search(r"pip install [^\n]*-c /opt/venv/numpy-pin.txt \$PIP_EXTRA", post)
    for recipe in ("Dockerfile", "run_tests_in_rootfs.sh"):
        assert re.search(r"-c /opt/venv/numpy-pin.txt -r \S*containers/pip-packages.txt",
                         (CONTAINERS / recipe).read_text()), recipe


def test_environment(definition, tmp_path):
    _, sections = definition
    script = sections["environment"] + '\nprintf "%s\\n" "$PATH" "$OMP_NUM_THREADS" "$OPENBLAS_NUM_THREADS"\n'
    out = subprocess.run(["sh", "-c", script], check=True, capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin"}).stdout.split()
    assert out == ["/opt/venv/bin:/usr/bin:/bin", "1", "1"]


@pytest.mark.parametrize("name", SHELL_SECTIONS)
def test_shell_sections_parse(definition, name):
    _, sections = definition
    values = arguments(sections["arguments"]) | {"PIP_EXTRA": "cupy-cuda12x"}
    body = substitute(sections[name], values)
    assert "{{" not in body
    result = subprocess.run(["sh", "-n"], input=body, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _run_runscript(definition, tmp_path, *args: str) -> str:
    """The %runscript with its with-display replaced by the repository's copy (Xvfb off)
    and a stand-in `thermocfd` on PATH."""
    _, sections = definition
    script = sections["runscript"].replace("/usr/local/bin/with-display",
                                           str(CONTAINERS / "with-display"))
    stand_in = tmp_path / "thermocfd"
    stand_in.write_text('#!/bin/sh\necho "thermocfd stand-in: $*"\n')
    stand_in.chmod(0o755)
    env = {"PATH": f"{tmp_path}:/usr/bin:/bin", "THERMOCFD_NO_XVFB": "1"}
    return subprocess.run(["sh", "-c", script, "runscript", *args], check=True,
                          capture_output=True, text=True, env=env).stdout.strip()


def test_runscript_defaults_to_info(definition, tmp_path):
    assert _run_runscript(definition, tmp_path) == "thermocfd stand-in: info"


def test_runscript_runs_the_command_given(definition, tmp_path):
    assert _run_runscript(definition, tmp_path, "thermocfd", "run", "a b.toml") == \
        "thermocfd stand-in: run a b.toml"
    assert _run_runscript(definition, tmp_path, "echo", "hello") == "hello"


@pytest.mark.skipif(os.geteuid() != 0, reason="build_rootfs.sh runs as root only")
def test_rootfs_build_fails_plainly_without_the_mirror(tmp_path):
    """An unreachable Debian mirror stops build_rootfs.sh before mmdebstrap (a stand-in
    here, which must not run) with exit 3 and a message naming the mirror."""
    stand_in = tmp_path / "bin" / "mmdebstrap"
    stand_in.parent.mkdir()
    stand_in.write_text(f'#!/bin/sh\ntouch "{tmp_path}/mmdebstrap-ran"\n')
    stand_in.chmod(0o755)
    mirror = "http://mirror.invalid/debian"
    env = dict(os.environ, PATH=f"{stand_in.parent}:{os.environ['PATH']}", MIRROR=mirror)
    result = subprocess.run(["bash", str(CONTAINERS / "build_rootfs.sh"), str(tmp_path / "rootfs")],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 3, result.stderr
    assert f"cannot reach the Debian mirror {mirror}" in result.stderr
    assert not (tmp_path / "mmdebstrap-ran").exists()
