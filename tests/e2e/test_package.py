"""Deployment: the stages' settings and IAM policies, and what gets shipped.

The fast tests read ``.chalice/``, the policies and ``s.yaml``. The ``slow``
ones build the real artifacts (``chalice package`` for SAM and Terraform,
``deploy/package-fc.sh`` for Function Compute; wheels come from PyPI), then
run a ticket request through each artifact with nothing but the standard
library and the artifact on ``sys.path``.
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.settings import load_oss, load_s3, load_settings, verify_content_on
from chalicelib.variables import VARIABLES
from deploy.bytecode import interpreter
from deploy.purepython import NativeCode, make_pure
from tests.support.artifacts import PACKAGE_AWS, run

ROOT = Path(__file__).resolve().parents[2]
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
STAGES = ("dev", "prod")
# The secrets, and the key IDs that go with them: an identity comes from the environment.
SECRETS = {variable.name for variable in VARIABLES if variable.secret} | {
    "OSS_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "AWS_ACCESS_KEY_ID",
}
LAMBDA_RESERVED = {
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_FUNCTION_NAME",
}
NEVER_SHIPPED = (
    "tests/",
    "devbucket/",
    "conformance/",
    "frontend/",
    "bench/",
    "deploy/",
    ".chalice/",
    "botocore/",
    "boto3/",
)
FAKE_AWS = {
    "AWS_REGION": "eu-central-1",
    "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE",
    "AWS_SECRET_ACCESS_KEY": "fake-secret-for-the-package-test",
}


def stage_env(stage: str) -> dict[str, str]:
    """The variables Chalice gives the stage's function: shared, then the stage's."""
    shared = CONFIG.get("environment_variables", {})
    return {**shared, **CONFIG["stages"][stage]["environment_variables"]}


def stage_policy(stage: str) -> dict[str, Any]:
    policy_file = CONFIG["stages"][stage]["iam_policy_file"]
    return json.loads((ROOT / ".chalice" / policy_file).read_text())


def s_yaml(**env: str) -> dict[str, Any]:
    """s.yaml as Serverless Devs reads it with ``env`` as the environment:
    ``${env('NAME', 'default')}`` (its documented form) then ``${vars.name}``
    references resolved."""
    text = re.sub(
        r"\$\{env\('(\w+)', '([^']*)'\)\}",
        lambda match: env.get(match[1], match[2]),
        (ROOT / "s.yaml").read_text(),
    )
    names = yaml.safe_load(text)["vars"]
    return yaml.safe_load(re.sub(r"\$\{vars\.(\w+)\}", lambda match: names[match[1]], text))


@pytest.mark.parametrize("stage", STAGES)
def test_stage_has_its_own_policy_and_no_generated_one(stage: str) -> None:
    assert CONFIG["autogen_policy"] is False
    assert (ROOT / ".chalice" / CONFIG["stages"][stage]["iam_policy_file"]).is_file()
    assert CONFIG["stages"][stage].get("autogen_policy", False) is False


@pytest.mark.parametrize("stage", STAGES)
def test_stage_settings_are_valid_and_hold_no_secret(stage: str) -> None:
    env = stage_env(stage)
    assert not SECRETS & set(env), "secrets come from the environment, never config.json"
    assert not LAMBDA_RESERVED & set(env), "Lambda refuses to deploy reserved variables"
    settings = load_settings(env)
    assert settings.provider == "s3"
    # The rest is what Lambda adds from the function's role and region.
    assert load_s3({**env, **FAKE_AWS}).bucket == env["S3_BUCKET"]


S3_UPLOAD_ACTIONS = ["s3:PutObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"]
OSS_UPLOAD_ACTIONS = ["oss:PutObject", "oss:ListParts", "oss:AbortMultipartUpload"]
# VERIFY_CONTENT=on reads an upload's first bytes and deletes a mismatch.
S3_VERIFY_ACTIONS = ["s3:GetObject", "s3:DeleteObject"]
OSS_VERIFY_ACTIONS = ["oss:GetObject", "oss:DeleteObject"]


@pytest.mark.parametrize("stage", STAGES)
def test_policy_grants_only_uploads_under_the_upload_prefix(stage: str) -> None:
    """s3:PutObject (forms; create, upload part, complete), ListMultipartUploadParts and
    AbortMultipartUpload (multipart), on the upload prefix only; and GetObject and
    DeleteObject there too exactly when the stage sets VERIFY_CONTENT=on."""
    env = stage_env(stage)
    statements = stage_policy(stage)["Statement"]
    assert all(statement["Effect"] == "Allow" for statement in statements)
    actions = {
        action
        for statement in statements
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }
    verify = S3_VERIFY_ACTIONS if verify_content_on(env) else []
    assert {action for action in actions if not action.startswith("logs:")} == {
        *S3_UPLOAD_ACTIONS,
        *verify,
    }
    assert not any("*" in action for action in actions)
    prefix = f"arn:aws:s3:::{env['S3_BUCKET']}/{env['UPLOAD_DIR']}*"
    for granted in (S3_UPLOAD_ACTIONS, verify):
        if granted:
            (s3,) = [statement for statement in statements if statement["Action"] == granted]
            assert s3["Resource"] == prefix


def test_s_yaml_runs_fc_handler_with_valid_settings() -> None:
    props = s_yaml()["resources"]["signpost"]["props"]
    assert props["handler"] == "fc.handler"
    script = (ROOT / "deploy" / "package-fc.sh").read_text()
    # The wheels are built for the runtime the function declares.
    assert props["runtime"] == "python" + re.search(r"FC_PYTHON_VERSION:-([0-9.]+)", script)[1]
    assert props["code"] == "./build/fc"
    env = {name: str(value) for name, value in props["environmentVariables"].items()}
    assert not SECRETS & set(env)
    assert load_settings(env).provider == "oss"
    fake_role = {"ALIBABA_CLOUD_ACCESS_KEY_ID": "STS.fake", "ALIBABA_CLOUD_ACCESS_KEY_SECRET": "x"}
    assert load_oss({**env, **fake_role}).bucket == env["OSS_BUCKET"]
    trigger = props["triggers"][0]
    assert trigger["triggerType"] == "http"
    assert {"GET", "POST", "DELETE", "OPTIONS"} <= set(trigger["triggerConfig"]["methods"])


def test_fc_role_policy_grants_only_uploads_under_the_upload_prefix() -> None:
    """The function's RAM role: oss:PutObject, oss:ListParts and
    oss:AbortMultipartUpload on the bucket and prefix s.yaml sets, nothing
    else (no ACL rights: an ACL a ticket holder adds needs them), and it is
    the policy the role script attaches to s.yaml's role."""
    props = s_yaml()["resources"]["signpost"]["props"]
    env = {name: str(value) for name, value in props["environmentVariables"].items()}
    policy = json.loads((ROOT / "deploy" / "fc-ram-policy.json").read_text())
    assert policy["Version"] == "1"
    actions = OSS_UPLOAD_ACTIONS + (OSS_VERIFY_ACTIONS if verify_content_on(env) else [])
    (statement,) = policy["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Action": actions,
        "Resource": f"acs:oss:*:*:{env['OSS_BUCKET']}/{env['UPLOAD_DIR']}*",
    }
    script = (ROOT / "deploy" / "fc-role.sh").read_text()
    assert "deploy/fc-ram-policy.json" in script
    default_role = re.search(r'role="\$\{1:-([\w-]+)\}"', script)[1]
    assert props["role"].endswith(f":role/{default_role}")


def test_bytecode_step_stops_without_the_runtime_python(tmp_path: Path) -> None:
    """No bytecode from another Python: the build stops and names the version."""
    (tmp_path / "module.py").write_text("x = 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "deploy.bytecode", "tree", "python3.99", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "no python3.99 on this machine" in result.stderr
    assert not list(tmp_path.rglob("*.pyc"))


def test_bytecode_step_replaces_a_checkout_pyc_in_the_zip(tmp_path: Path) -> None:
    """``chalice package`` copies ``chalicelib/`` whole, ``__pycache__`` and
    all: the archive ships the runtime's unchecked pyc, never the copied one."""
    runtime = "python{}.{}".format(*sys.version_info[:2])
    tag = sys.implementation.cache_tag
    stale = f"chalicelib/__pycache__/rules.{tag}.pyc"
    archive = tmp_path / "deployment.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("chalicelib/rules.py", "LIMIT = 1\n")
        out.writestr(stale, b"a timestamp pyc from a developer's checkout")
    function = {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": runtime}}
    (tmp_path / "sam.json").write_text(json.dumps({"Resources": {"APIHandler": function}}))
    subprocess.run(
        [sys.executable, "-m", "deploy.bytecode", "chalice", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with zipfile.ZipFile(archive) as shipped:
        names = shipped.namelist()
        header = shipped.read(stale)[:8]
        assert shipped.read("chalicelib/rules.py") == b"LIMIT = 1\n"
    assert names.count(stale) == 1
    assert header[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(header[4:8], "little") == 0b01  # unchecked hash


def ask(python: Path, code: str) -> str:
    """What ``code`` prints when ``python`` runs it."""
    return subprocess.run(
        [str(python), "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()


def assert_bytecode_for_runtime(root: Path, runtime: str) -> Path:
    """Every module in the artifact has its pyc, made by the runtime's own
    Python (its magic number, its cache tag) as an unchecked hash pyc; the
    runtime's interpreter is returned."""
    python = interpreter(runtime)
    assert ask(python, "import sys; print('python%d.%d' % sys.version_info[:2])") == runtime
    magic = bytes.fromhex(ask(python, "import importlib.util as u; print(u.MAGIC_NUMBER.hex())"))
    tag = ask(python, "import sys; print(sys.implementation.cache_tag)")
    sources = sorted(root.rglob("*.py"))
    assert len(sources) > 100
    for source in sources:
        header = (source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc").read_bytes()[:8]
        assert header[:4] == magic, source
        # PEP 552 flags: bit 0 hash-based, bit 1 check_source; unchecked is 0b01.
        assert int.from_bytes(header[4:8], "little") == 0b01, source
    assert {pyc.name.split(".")[-2] for pyc in root.rglob("*.pyc")} == {tag}
    return python


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``root`` with its size and modification time."""
    return {
        path.relative_to(root).as_posix(): (path.lstat().st_size, path.lstat().st_mtime_ns)
        for path in root.rglob("*")
    }


LOADED = re.compile(r"^# code object from '?(?P<path>.+?)'?$", re.MULTILINE)


def run_in_artifact(
    path: Path, python: Path, code: str, env: dict[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """Run ``code`` as the platform runs the artifact: the runtime's Python
    with only its standard library and the artifact importable, the
    artifact read-only and ``PYTHONDONTWRITEBYTECODE=1``, no pycache prefix.
    ``code`` prints one JSON value; returned with the files the artifact's
    modules were loaded from (``-v`` reports each code object's origin).
    Nothing may be written in the artifact. (Root ignores the missing write
    bits; the listing before and after is the check.)"""
    program = (
        "import sys, json\n"
        "assert sys.flags.dont_write_bytecode and sys.pycache_prefix is None\n"
        f"sys.path.insert(0, {str(path)!r})\n{code}"
    )
    files = [item for item in path.rglob("*") if not item.is_symlink()]
    modes = {item: item.stat().st_mode for item in [path, *files]}
    for item, mode in modes.items():
        item.chmod(mode & ~0o222)
    before = tree(path)
    try:
        result = subprocess.run(
            [str(python), "-S", "-v", "-c", program],
            env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
            cwd=path,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        for item, mode in modes.items():
            item.chmod(mode)
    assert tree(path) == before, "the artifact was written to"
    loaded_from = [
        found["path"]
        for found in LOADED.finditer(result.stderr)
        if found["path"].startswith(f"{path}/")
    ]
    # The last line: the app writes its audit line first (docs/operations.md).
    return json.loads(result.stdout.splitlines()[-1]), loaded_from


def assert_loaded_from_bytecode(root: Path, loaded_from: list[str], python: Path) -> None:
    """The app, its core and Chalice came from the shipped pycs; nothing was
    compiled from source."""
    assert not [name for name in loaded_from if not name.endswith(".pyc")]
    tag = ask(python, "import sys; print(sys.implementation.cache_tag)")
    for module in ("app", "chalicelib/handlers", "chalicelib/tickets", "chalice/app"):
        folder, _, name = f"./{module}".rpartition("/")
        pyc = root / folder / "__pycache__" / f"{name}.{tag}.pyc"
        assert str(pyc) in loaded_from, module


LAMBDA_EVENT = {
    "resource": "/upload-tickets",
    "path": "/upload-tickets",
    "httpMethod": "POST",
    "headers": {"Content-Type": "application/json"},
    "multiValueHeaders": {},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": None,
    "requestContext": {
        "resourcePath": "/upload-tickets",
        "httpMethod": "POST",
        "path": "/api/upload-tickets",
    },
    "body": json.dumps({"filename": "cat.png", "content_type": "image/png"}),
    "isBase64Encoded": False,
}


@pytest.mark.slow
def test_chalice_package_sam(tmp_path: Path, sam_package: Callable[[str], Path]) -> None:
    out = sam_package("dev")
    archive = out / "deployment.zip"
    names = zipfile.ZipFile(archive).namelist()
    assert "app.py" in names
    assert "chalice/app.py" in names
    shipped_core = {
        name for name in names if name.startswith("chalicelib/") and name.endswith(".py")
    }
    assert shipped_core == {
        f"chalicelib/{path.name}" for path in (ROOT / "chalicelib").glob("*.py")
    }
    for package in ("requests/__init__.py", "jwt/__init__.py", "charset_normalizer/md.py"):
        assert package in names
    # No native code: the same zip runs on x86_64 and arm64 Lambda.
    assert [name for name in names if name.endswith(".so") or ".so." in name] == []
    assert not [name for name in names if name.startswith(("cryptography/", "_cffi_backend"))]
    assert not [name for name in names if name.startswith(NEVER_SHIPPED) or name == "fc.py"]
    print(f"\ndeployment.zip: {archive.stat().st_size} bytes")

    resources = json.loads((out / "sam.json").read_text())["Resources"]
    function = resources["APIHandler"]["Properties"]
    assert function["Handler"] == "app.handler"  # 1.0 and 2.0 events (deploy/function_url.py)
    assert function["CodeUri"] == "./deployment.zip"
    assert function["MemorySize"] == CONFIG["lambda_memory_size"]
    assert function["Timeout"] == CONFIG["lambda_timeout"]
    assert function["Tags"]["stage"] == "dev"
    assert function["Environment"]["Variables"] == stage_env("dev")
    assert function["Role"] == {"Fn::GetAtt": ["ApiHandlerRole", "Arn"]}
    (policy,) = resources["ApiHandlerRole"]["Properties"]["Policies"]
    assert policy["PolicyDocument"] == stage_policy("dev")
    # VERIFY_CONTENT's S3 handler: an EventBridge rule is what `chalice package`
    # builds for it (on_s3_event does not package), with the stage's settings and policy.
    checker = resources["ObjectCreated"]["Properties"]
    assert checker["Handler"] == "app.object_created"
    assert checker["Environment"]["Variables"] == stage_env("dev")
    (rule,) = checker["Events"].values()
    assert rule == {
        "Type": "CloudWatchEvent",
        "Properties": {"Pattern": {"source": ["aws.s3"], "detail-type": ["Object Created"]}},
    }
    (checker_policy,) = resources["ObjectCreatedRole"]["Properties"]["Policies"]
    assert checker_policy["PolicyDocument"] == stage_policy("dev")

    # The package answers a ticket request on its own, as Lambda would run it,
    # from the bytecode it ships for the runtime it declares.
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(archive).extractall(unpacked)
    python = assert_bytecode_for_runtime(unpacked, function["Runtime"])
    answer, loaded_from = run_in_artifact(
        unpacked,
        python,
        f"import app\nprint(json.dumps(app.app({LAMBDA_EVENT!r}, None)))",
        {**stage_env("dev"), **FAKE_AWS, "AUTH_MODE": "none"},
    )
    assert answer["statusCode"] == 200
    ticket = json.loads(answer["body"])
    assert ticket["url"] == f"https://{stage_env('dev')['S3_BUCKET']}.s3.eu-central-1.amazonaws.com"
    assert ticket["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert_loaded_from_bytecode(unpacked, loaded_from, python)


@pytest.mark.slow
@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_the_template_may_declare_either_architecture(
    sam_package: Callable[[str], Path], tmp_path: Path, architecture: str
) -> None:
    """The zip holds no native code, so the function may run on either of
    Lambda's CPUs: the SAM template declaring it passes cfn-lint (which
    refuses, for one, an ``Architectures`` that is not a list)."""
    template = json.loads((sam_package("prod") / "sam.json").read_text())
    template["Resources"]["APIHandler"]["Properties"]["Architectures"] = [architecture]
    declared = tmp_path / f"sam-{architecture}.json"
    declared.write_text(json.dumps(template))
    lint = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(declared)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout


@pytest.mark.slow
def test_chalice_package_terraform(tmp_path: Path) -> None:
    out = tmp_path / "tf"
    run([str(PACKAGE_AWS), "prod", str(out), "--pkg-format", "terraform"])
    resources = json.loads((out / "chalice.tf.json").read_text())["resource"]
    function = resources["aws_lambda_function"]["api_handler"]
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(out / "deployment.zip").extractall(unpacked)
    assert_bytecode_for_runtime(unpacked, function["runtime"])
    assert function["handler"] == "app.app"
    assert function["memory_size"] == CONFIG["stages"]["prod"]["lambda_memory_size"]
    assert function["environment"]["variables"] == stage_env("prod")
    policy = resources["aws_iam_role_policy"]["api_handler_role"]["policy"]
    assert json.loads(policy) == stage_policy("prod")


@pytest.mark.slow
def test_fc_package(tmp_path: Path) -> None:
    out = tmp_path / "fc"
    run([str(ROOT / "deploy" / "package-fc.sh"), str(out)])
    shipped = {path.relative_to(out).as_posix() for path in out.rglob("*") if path.is_file()}
    assert {"fc.py", "app.py", "chalice/__init__.py", "chalice/app.py"} <= shipped
    assert "chalice/cli/__init__.py" not in shipped
    # Pure Python only: any CPU; bytecode for FC's Python 3.12 (checked below).
    assert "charset_normalizer/md.py" in shipped
    assert [name for name in shipped if name.endswith(".so") or ".so." in name] == []
    assert not [name for name in shipped if name.startswith(NEVER_SHIPPED)]

    props = s_yaml()["resources"]["signpost"]["props"]
    env = {name: str(value) for name, value in props["environmentVariables"].items()}
    event = {
        "version": "v1",
        "rawPath": "/upload-tickets",
        "isBase64Encoded": False,
        "body": json.dumps({"filename": "cat.png", "content_type": "image/png"}),
        "headers": {"Content-Type": "application/json"},
        "queryParameters": {},
        "requestContext": {
            "requestId": "1-x",
            "http": {"method": "POST", "path": "/upload-tickets"},
        },
    }
    python = assert_bytecode_for_runtime(out, props["runtime"])
    answer, loaded_from = run_in_artifact(
        out,
        python,
        "import fc, types\n"
        "creds = types.SimpleNamespace(access_key_id='STS.pkg', access_key_secret='s', "
        "security_token='t')\n"
        f"print(json.dumps(fc.handler({json.dumps(event)!r}, "
        "types.SimpleNamespace(credentials=creds))))",
        {**env, "AUTH_MODE": "none"},
    )
    assert answer["statusCode"] == 200
    fields = json.loads(answer["body"])["fields"]
    assert fields["x-oss-credential"].startswith("STS.pkg/")
    assert fields["x-oss-security-token"] == "t"
    assert_loaded_from_bytecode(out, loaded_from, python)


def test_native_code_no_distribution_claims_stops_the_build(tmp_path: Path) -> None:
    """A ``.so`` that no wheel's RECORD lists (copied in by hand, say) cannot
    be swapped for pure Python: the build stops and names it."""
    archive = tmp_path / "deployment.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("app.py", "")
        out.writestr("vendor_thing/_speedups.cpython-312-aarch64-linux-gnu.so", b"\x7fELF")
    with pytest.raises(NativeCode, match="vendor_thing/_speedups"):
        make_pure(archive, "3.12")
