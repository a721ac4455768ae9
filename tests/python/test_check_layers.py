"""scripts/check_layers.py: passes on the repository, and fails on a planted upward include."""

import pathlib
import shutil
import subprocess
import sys

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


def test_planted_upward_include_fails(tmp_path):
    copy_tree(tmp_path)
    tensor = tmp_path / "src" / "tensor" / "tensor.hpp"
    tensor.write_text(tensor.read_text() + '\n#include "train/trainer.hpp"\n')
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert "src/tensor/tensor.hpp: includes 'train/trainer.hpp' from a higher layer" in result.stdout


def test_include_between_peers_fails(tmp_path):
    copy_tree(tmp_path)
    stdp = tmp_path / "src" / "plasticity" / "stdp_rule.hpp"
    stdp.write_text(stdp.read_text() + '\n#include "train/loss.hpp"\n')
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert "from a peer" in result.stdout


def test_public_header_with_internal_include_fails(tmp_path):
    copy_tree(tmp_path)
    public = tmp_path / "include" / "homeostat" / "config.hpp"
    public.write_text(public.read_text() + '\n#include "network/network.hpp"\n')
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert "public header includes 'network/network.hpp'" in result.stdout


def test_folder_outside_every_layer_fails(tmp_path):
    copy_tree(tmp_path)
    (tmp_path / "src" / "extras").mkdir()
    (tmp_path / "src" / "extras" / "thing.hpp").write_text("#pragma once\n")
    result = run_check(tmp_path)
    assert result.returncode == 1
    assert "folder 'extras' is not in any layer" in result.stdout
