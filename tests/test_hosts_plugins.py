"""Studio plugins: installed through their entry point (a real pip install of examples/td_plugin),
or named in AZRENDER_PLUGINS; broken ones are named in one line."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO, cli_env

PROBE = textwrap.dedent("""
    import json
    from pathlib import Path
    from azrender.discovery.model import SceneReport
    from azrender.pipeline import Submission, SubmitRequest
    from azrender.plugins import describe_plugins, get_plugin_manager

    def submission(scene, frames):
        # What the pipeline hands the hooks.
        request = SubmitRequest(scene=Path(scene), frames=f"1-{frames}")
        return Submission(request, Path(scene), "blender", "job-1", tuple(range(1, frames + 1)), "local", "copy",
                          "linux", SceneReport(scene=scene), settings=None)

    pm = get_plugin_manager()
    hook = pm.hook
    published = submission("/shows/gotham/sh010/sh010_lighting.blend", 10)
    wip = submission("/shows/gotham/sh010/sh010_lighting_WIP.blend", 5000)
    print(json.dumps({
        "plugins": [(p.name, p.origin, p.distribution) for p in describe_plugins(pm)],
        "rows": [list(r) for rows in hook.azrender_maya_path_attributes() for r in rows],
        "pool": hook.azrender_choose_pool(submission=published),
        "command": hook.azrender_task_command_line(submission=published, task=None,
                                                   command_line="blender -b s.blend -f 1"),
        "ok": [[p.severity, p.message] for ps in hook.azrender_validate(submission=published) for p in ps or ()],
        "wip": [[p.severity, p.message] for ps in hook.azrender_validate(submission=wip) for p in ps or ()],
    }))
""")


@pytest.fixture(scope="module")
def installed_td_plugin(tmp_path_factory):
    """examples/td_plugin pip-installed into its own folder, as a studio would install it."""
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--target", str(target), str(REPO / "examples" / "td_plugin")],
        check=True, capture_output=True, cwd=build, timeout=240,
    )
    return target


def probe(*paths, **env) -> subprocess.CompletedProcess:
    merged = cli_env(**env)
    merged["PYTHONPATH"] = ":".join([str(REPO / "core"), *map(str, paths)])
    return subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=merged, timeout=60)


def test_an_installed_plugin_changes_the_command_line_pool_and_blocks_wip_scenes(installed_td_plugin):
    proc = probe(installed_td_plugin, STUDIO_RENDER_WRAPPER="/studio/bin/with-license")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert ["studio", "entry-point", "studio-azrender 1.0.0"] in out["plugins"]
    assert ["studioCache", "cachePath", "cache"] in out["rows"]
    assert out["pool"] == "gotham-gpu"
    assert out["command"] == "/studio/bin/with-license blender -b s.blend -f 1"
    assert out["ok"] == []
    severities = [severity for severity, _ in out["wip"]]
    assert severities.count("error") == 1 and severities.count("warning") == 1
    assert any("sh010_lighting_WIP.blend" in message for _, message in out["wip"])


def test_without_the_plugin_nothing_changes(tmp_path):
    proc = probe(tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["pool"] is None and out["command"] is None and out["wip"] == []


def test_a_disabled_plugin_is_not_loaded(installed_td_plugin):
    proc = probe(installed_td_plugin, AZRENDER_DISABLE_PLUGINS="studio")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["pool"] is None


def test_a_plugin_module_named_in_the_environment_is_loaded(tmp_path):
    (tmp_path / "pipeline_hooks.py").write_text(textwrap.dedent("""
        import azrender

        @azrender.hookimpl
        def azrender_choose_pool(submission):
            return "from-env"
    """))
    proc = probe(tmp_path, AZRENDER_PLUGINS="pipeline_hooks")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["pool"] == "from-env"
    assert ["pipeline_hooks", "env", None] in out["plugins"]


@pytest.mark.parametrize("body,named", [
    ("raise ImportError('no module named studio_licenses')", "no module named studio_licenses"),
    ("import azrender\n@azrender.hookimpl\ndef azrender_validat(submission):\n    return []\n", "azrender_validat"),
])
def test_a_broken_plugin_is_named_in_one_line(tmp_path, run_cli, body, named):
    (tmp_path / "broken_hooks.py").write_text(body)
    env = {"AZRENDER_PLUGINS": "broken_hooks", "PYTHONPATH": f"{REPO / 'core'}:{tmp_path}"}
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=cli_env(**env), timeout=60)
    assert proc.returncode != 0
    error = [line for line in proc.stderr.splitlines() if line.startswith("azrender.errors.AzrenderError")]
    assert len(error) == 1 and "broken_hooks" in error[0] and named in error[0]


def test_host_panels_name_the_active_studio_plugins_or_the_broken_one(installed_td_plugin, tmp_path):
    code = "from azrender.hosts.submission import plugins_line; print(plugins_line())"
    env = cli_env()
    env["PYTHONPATH"] = f"{REPO / 'core'}:{installed_td_plugin}"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.stdout.strip() == "Plugins: studio-azrender 1.0.0", proc.stderr
    (tmp_path / "broken_hooks.py").write_text("raise ImportError('no licence server module')")
    env.update(PYTHONPATH=f"{REPO / 'core'}:{tmp_path}", AZRENDER_PLUGINS="broken_hooks")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert proc.stdout.startswith("could not load azrender plugin broken_hooks") and "no licence server module" in proc.stdout


def test_through_azrender_submit_the_installed_plugin_wraps_every_task_and_blocks_wip(installed_td_plugin, run_cli,
                                                                                     tmp_path):
    import shutil

    from conftest import SHARED_SCENES

    scene = tmp_path / "sh010" / "sphere.blend"
    scene.parent.mkdir()
    shutil.copy(SHARED_SCENES / "gltfio_blend" / "01_textured_sphere.blend", scene)
    env = {"PYTHONPATH": f"{REPO / 'core'}:{installed_td_plugin}", "STUDIO_RENDER_WRAPPER": "/studio/bin/with-license",
           "AZRENDER_STATE_DIR": str(tmp_path / "state")}
    args = ("--frames", "1-3", "--backend", "local", "--allow-missing", "--dry-run", "--json")
    proc = run_cli("submit", scene, *args, env=env)
    assert proc.returncode == 0, proc.stderr
    tasks = json.loads(proc.stdout)["tasks"]
    assert len(tasks) == 3 and all(t["commandLine"].startswith("/studio/bin/with-license ") for t in tasks)

    wip = scene.with_name("sphere_wip.blend")
    shutil.copy(scene, wip)
    proc = run_cli("submit", wip, *args, env=env)
    assert proc.returncode == 6  # ValidationError
    assert "sphere_wip.blend is a work-in-progress file" in proc.stderr and "Traceback" not in proc.stderr


def test_every_hook_documents_each_parameter_and_its_return():
    """hookspecs.py is the reference a TD reads (pytest's hookspec.py style): every parameter has
    a ``:param name:`` line and every hook an annotated return."""
    import inspect

    from azrender import hookspecs

    hooks = [f for name, f in vars(hookspecs).items() if name.startswith("azrender_") and callable(f)]
    assert len(hooks) >= 11
    for hook in hooks:
        signature = inspect.signature(hook)
        missing = [p for p in signature.parameters if f":param {p}:" not in (hook.__doc__ or "")]
        assert not missing, f"{hook.__name__}: parameters without a :param line: {missing}"
        assert signature.return_annotation is not inspect.Signature.empty, f"{hook.__name__}: no return annotation"
        assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values()), hook.__name__
