"""scripts/check_layers.py: passes on the repository, and fails on a planted upward include."""

import pathlib
import shutil
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "check_layers.py"


def run_check(root):
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root)],
                          capture_output=True, text=True)


def copy_tree(destination):
    shutil.copytree(REPO / "src", destination / "src")
    shutil.copytree(REPO / "include", destination / "include")
    (destination / "docs").mkdir()
    shutil.copy(REPO / "docs" / "architecture.md", destination / "docs")


def test_repository_has_no_upward_include():
    result = run_check(REPO)
    assert result.returncode == 0, result.stdout
    assert "every include points down" in result.stdout


@pytest.mark.parametrize("planted_in, include, message", [
    ("src/tensor/tensor.hpp", "train/trainer.hpp",
     "src/tensor/tensor.hpp: includes 'train/trainer.hpp' from a higher layer"),
    ("src/plasticity/stdp_rule.hpp", "train/loss.hpp", "from a peer"),
    ("include/homeostat/config.hpp", "network/network.hpp",
     "public header includes 'network/network.hpp'"),
])
def test_planted_include_fails(tmp_path, planted_in, include, message):
    copy_tree(tmp_path)
    planted = tmp_path / planted_in
    planted.write_text(planted.read_text() + f'\n#include "{include}"\n')
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert message in result.stdout


def test_folder_outside_every_layer_fails(tmp_path):
    copy_tree(tmp_path)
    (tmp_path / "src" / "extras").mkdir()
    (tmp_path / "src" / "extras" / "thing.hpp").write_text("#pragma once\n")
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert "folder 'extras' is not in any layer" in result.stdout
