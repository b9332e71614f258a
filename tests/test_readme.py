"""The README's promises: its Python examples run as written, its test command is what CI runs,
and every file it links to exists."""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


def test_readme_python_examples_run_as_written():
    blocks = _blocks("python")
    assert blocks, "README has no python example"
    for code in blocks:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=300, cwd=REPO)
        assert out.returncode == 0, out.stderr
        for expected in re.findall(r"# (\(.*?\))$", code, re.M):
            assert expected in out.stdout


def test_ci_runs_the_readme_test_command():
    commands = [line for block in _blocks("bash") for line in block.splitlines()
                if "pytest" in line]
    assert len(commands) == 1, commands
    assert commands[0] in (REPO / ".ci" / "run").read_text()


def test_readme_main_command_runs_the_catdog_example():
    commands = [line for block in _blocks("bash") for line in block.splitlines()
                if "pip install" in line and "pytest" not in line]
    assert len(commands) == 1 and commands[0].endswith("examples/catdog.py")


def test_readme_links_exist():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        assert (REPO / target).exists(), f"README links to missing {target}"
