"""The addon ships as the wheel OCA-style installs expect (built by whool)."""

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ADDON = Path(__file__).resolve().parent.parent / "customer_tiering"
PREFIX = "odoo/addons/customer_tiering/"


def manifest():
    return ast.literal_eval((ADDON / "__manifest__.py").read_text())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), "."],
        cwd=ADDON,
        check=True,
    )
    (path,) = out.glob("*.whl")
    with zipfile.ZipFile(path) as archive:
        yield path.name, set(archive.namelist())


def test_manifest_is_oca_shaped():
    data = manifest()
    assert data["version"].startswith("18.0.")
    assert len(data["version"].split(".")) == 5
    assert data["license"] == "LGPL-3"
    assert data["installable"] is True
    assert {"sale_management", "account"} <= set(data["depends"])


def test_every_manifest_file_exists():
    data = manifest()
    for name in data["data"] + data.get("demo", []):
        assert (ADDON / name).is_file(), name


def test_wheel_name_and_content(wheel):
    name, files = wheel
    assert name.startswith("odoo_addon_customer_tiering-18.0.")
    data = manifest()
    expected = [
        "__manifest__.py",
        "__init__.py",
        "static/description/icon.png",
        "i18n/customer_tiering.pot",
        "i18n/zh_CN.po",
        *data["data"],
        *data.get("demo", []),
    ]
    missing = [f for f in expected if PREFIX + f not in files]
    assert not missing
    assert any(f.startswith(PREFIX + "engine/") for f in files)
    assert not any("__pycache__" in f for f in files)


GLUE = ADDON.parent / "customer_tiering_queue_job"


def test_queue_job_glue_manifest():
    """The glue addon installs by itself with queue_job, and only then."""
    data = ast.literal_eval((GLUE / "__manifest__.py").read_text())
    assert data["version"] == "18.0.1.0.0"
    assert data["license"] == "LGPL-3"
    assert data["auto_install"] is True
    assert set(data["depends"]) == {"customer_tiering", "queue_job"}
    for name in data["data"]:
        assert (GLUE / name).is_file(), name
    for name in (
        "README.rst",
        "readme/DESCRIPTION.md",
        "pyproject.toml",
        "i18n/customer_tiering_queue_job.pot",
        "i18n/zh_CN.po",
        "static/description/icon.png",
    ):
        assert (GLUE / name).is_file(), name
