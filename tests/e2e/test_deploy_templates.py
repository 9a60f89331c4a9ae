"""The deployment's declarations, checked offline: the function URL step on
the SAM template, cfn-lint on the generated templates (``slow``: they come
from ``chalice package``), the workflow against GitHub's schema, ``s.yaml``
and the AWS deploy role's files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from deploy.function_url import add_function_url
from tests.e2e.test_package import s_yaml

ROOT = Path(__file__).resolve().parents[2]


def chalice_like_template() -> dict[str, Any]:
    """The parts of ``chalice package``'s sam.json the step reads."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "APIHandler": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Handler": "app.app", "Runtime": "python3.11"},
            }
        },
        "Outputs": {"EndpointURL": {"Value": "https://example/api/"}},
    }


def test_the_function_gets_a_public_url_that_signpost_guards() -> None:
    template = add_function_url(chalice_like_template())
    function = template["Resources"]["APIHandler"]["Properties"]
    assert function["Handler"] == "app.handler"
    # AuthType NONE (AUTH_MODE decides) and no Cors: preflights reach signpost.
    assert function["FunctionUrlConfig"] == {"AuthType": "NONE"}
    permissions = {
        resource["Properties"]["Action"]: resource["Properties"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Permission"
    }
    assert permissions == {
        "lambda:InvokeFunctionUrl": {
            "Action": "lambda:InvokeFunctionUrl",
            "FunctionName": {"Ref": "APIHandler"},
            "Principal": "*",
            "FunctionUrlAuthType": "NONE",
        },
        "lambda:InvokeFunction": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Ref": "APIHandler"},
            "Principal": "*",
            "InvokedViaFunctionUrl": True,
        },
    }
    assert template["Outputs"]["FunctionUrl"]["Value"] == {
        "Fn::GetAtt": ["APIHandlerUrl", "FunctionUrl"]
    }
    assert template["Outputs"]["EndpointURL"] == {"Value": "https://example/api/"}


def test_the_step_rewrites_the_file_and_refuses_a_template_it_does_not_know(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sam.json"
    path.write_text(json.dumps(chalice_like_template()))
    subprocess.run([sys.executable, "-m", "deploy.function_url", str(path)], cwd=ROOT, check=True)
    assert json.loads(path.read_text()) == add_function_url(chalice_like_template())
    other = chalice_like_template()
    other["Resources"]["APIHandler"]["Type"] = "AWS::Lambda::Function"
    with pytest.raises(ValueError, match="not a SAM function"):
        add_function_url(other)


def tool(name: str) -> str:
    """A command this virtualenv installed (requirements-dev.txt pins it)."""
    return str(Path(sys.executable).with_name(name))


def cfn_lint(template: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("cfn-lint"), str(template)], capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_generated_template_passes_cfn_lint(
    sam_package: Callable[[str], Path], stage: str
) -> None:
    template = sam_package(stage) / "sam.json"
    result = cfn_lint(template)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "FunctionUrl" in json.loads(template.read_text())["Outputs"]


@pytest.mark.slow
def test_cfn_lint_would_catch_a_broken_function_url(
    sam_package: Callable[[str], Path], tmp_path: Path
) -> None:
    """The check can fail: a permission of the wrong type, an output naming
    a URL resource SAM does not make."""
    template = json.loads((sam_package("dev") / "sam.json").read_text())
    permission = template["Resources"]["APIHandlerUrlInvokeFunctionPermission"]
    permission["Properties"]["InvokedViaFunctionUrl"] = "yes"
    template["Outputs"]["FunctionUrl"]["Value"] = {"Fn::GetAtt": ["NoSuchUrl", "FunctionUrl"]}
    (tmp_path / "sam.json").write_text(json.dumps(template))
    result = cfn_lint(tmp_path / "sam.json")
    assert result.returncode != 0
    assert "E3012" in result.stdout  # the property's type
    assert "NoSuchUrl" in result.stdout


WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"


def check_workflow(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def workflow() -> dict[Any, Any]:
    return dict(yaml.safe_load(WORKFLOW.read_text()))


def test_the_workflow_passes_githubs_schema(tmp_path: Path) -> None:
    result = check_workflow(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = WORKFLOW.read_text().replace("runs-on: ubuntu-24.04", "runs-of: ubuntu-24.04", 1)
    (tmp_path / "deploy.yml").write_text(broken)
    assert check_workflow(tmp_path / "deploy.yml").returncode != 0


def test_only_the_aws_deploy_job_may_ask_for_an_oidc_token() -> None:
    document = workflow()
    assert document["permissions"] == {"contents": "read"}
    granted = {
        name: job.get("permissions", {}).get("id-token") for name, job in document["jobs"].items()
    }
    assert granted == {"test": None, "deploy-aws": "write", "deploy-fc": None}


def test_every_action_and_tool_is_pinned() -> None:
    text = WORKFLOW.read_text()
    uses = re.findall(r"uses:\s*(\S+)", text)
    assert uses
    assert all(re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", action) for action in uses), uses
    document = workflow()
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-bookworm", document["jobs"]["test"]["container"])
    assert re.fullmatch(r"@serverless-devs/s@\d+\.\d+\.\d+", document["env"]["S"])
    assert re.fullmatch(r"awscli==\d+\.\d+\.\d+", document["env"]["AWSCLI"])
    for job in ("deploy-aws", "deploy-fc"):
        for step in document["jobs"][job]["steps"]:
            version = step.get("with", {}).get("python-version") or step.get("with", {}).get(
                "node-version"
            )
            if version:
                assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in str(version).split())
    assert re.search(r"component: fc3@\d+\.\d+\.\d+", (ROOT / "s.yaml").read_text())
    # requirements-run.txt pins chalice; requirements-dev.txt (make .venv/.installed) includes it.
    assert re.search(r"^chalice==", (ROOT / "requirements-run.txt").read_text(), re.MULTILINE)
    assert re.search(
        r"^-r requirements-run\.txt$", (ROOT / "requirements-dev.txt").read_text(), re.MULTILINE
    )


def test_the_test_job_runs_ci_on_its_image_and_both_deploys_wait_for_it() -> None:
    jobs = workflow()["jobs"]
    assert jobs["test"]["steps"][-1]["run"] == "bash .ci/run"
    for name in ("deploy-aws", "deploy-fc"):
        assert jobs[name]["needs"] == "test"
        assert jobs[name]["environment"] == "${{ inputs.stage || 'dev' }}"
        assert any("deploy.smoke" in step.get("run", "") for step in jobs[name]["steps"])


def test_the_smoke_tests_expect_the_stages_auth_mode() -> None:
    """The workflow tells deploy/smoke.py the AUTH_MODE the stages deploy with."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    jobs = workflow()["jobs"]
    for stage in ("dev", "prod"):
        mode = config["stages"][stage]["environment_variables"]["AUTH_MODE"]
        assert any(f"--auth-mode {mode}" in s.get("run", "") for s in jobs["deploy-aws"]["steps"])
    fc_mode = s_yaml()["resources"]["signpost"]["props"]["environmentVariables"]["AUTH_MODE"]
    assert any(f"--auth-mode {fc_mode}" in s.get("run", "") for s in jobs["deploy-fc"]["steps"])


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_stage_is_its_own_fc_function_and_keeps_its_logs(stage: str) -> None:
    """The fields of s.yaml that matter, checked as the fc3 component's schema
    (devsapp/fc3 src/schema.json, 0.1.22) states them: no copy of that schema
    can be had offline from a package registry (the component is published to
    Serverless Devs' own registry; npm's package ``fc3`` is an unrelated font)."""
    settings = {
        "STAGE": stage,
        "FC_OSS_BUCKET": f"signpost-{stage}-oss",
        "FC_CORS_ALLOW_ORIGIN": f"https://{stage}.example.com",
        "FC_JWT_AUDIENCE": f"signpost-{stage}",
        "FC_ROLE_NAME": f"signpost-fc-{stage}",
    }
    props = s_yaml(**settings)["resources"]["signpost"]["props"]
    assert props["functionName"] == f"signpost-{stage}"
    env = props["environmentVariables"]
    assert env["OSS_BUCKET"] == f"signpost-{stage}-oss"
    assert env["CORS_ALLOW_ORIGIN"] == f"https://{stage}.example.com"
    assert env["JWT_AUDIENCE"] == f"signpost-{stage}"
    assert props["role"].endswith(f":role/signpost-fc-{stage}")
    assert all(isinstance(value, str) for value in env.values())  # schema IKV: strings
    log_config = props["logConfig"]
    assert log_config == "auto" or {"project", "logstore"} <= set(log_config)
    assert props["runtime"] == "python3.12"
    assert props["handler"] == "fc.handler"
    assert props["memorySize"] % 64 == 0
    assert 128 <= props["memorySize"] <= 32768
    assert props["diskSize"] in (512, 10240)
    assert isinstance(props["timeout"], int)
    assert 1 <= props["timeout"] <= 86400
    assert isinstance(props["instanceConcurrency"], int)
    assert props["instanceConcurrency"] == 1
    (trigger,) = props["triggers"]
    assert trigger["triggerType"] == "http"
    assert trigger["triggerConfig"]["authType"] == "anonymous"  # AUTH_MODE decides
    assert set(trigger["triggerConfig"]["methods"]) <= {
        "DELETE",
        "GET",
        "HEAD",
        "OPTIONS",
        "PATCH",
        "POST",
        "PUT",
    }


def test_the_aws_deploy_role_trusts_only_this_repositorys_deploy_jobs() -> None:
    trust = json.loads((ROOT / "deploy" / "aws-deploy-trust.json").read_text())
    (statement,) = trust["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].endswith(
        ":oidc-provider/token.actions.githubusercontent.com"
    )
    condition = statement["Condition"]["StringEquals"]
    assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    environments = workflow()["jobs"]["deploy-aws"]["environment"]
    assert "inputs.stage" in environments
    assert condition["token.actions.githubusercontent.com:sub"] == [
        f"repo:${{GITHUB_REPOSITORY}}:environment:{stage}" for stage in ("dev", "prod")
    ]


def test_the_aws_deploy_roles_rights_name_signposts_resources_only() -> None:
    policy = json.loads((ROOT / "deploy" / "aws-deploy-policy.json").read_text())
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
        assert not [action for action in actions if "*" in action], statement["Sid"]
        resources = statement["Resource"]
        for resource in [resources] if isinstance(resources, str) else resources:
            assert resource != "*"
            assert (
                "signpost" in resource
                or "restapis" in resource
                or resource.endswith(":aws:transform/Serverless-2016-10-31")
            ), resource
    granted = {
        action
        for statement in policy["Statement"]
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }
    # What deploy/aws.sh and a function URL need.
    assert {
        "cloudformation:CreateChangeSet",
        "cloudformation:ExecuteChangeSet",
        "cloudformation:DescribeStacks",
        "s3:PutObject",
        "lambda:CreateFunctionUrlConfig",
        "lambda:AddPermission",
        "iam:PassRole",
    } <= granted
    (passing,) = [s for s in policy["Statement"] if s["Action"] == "iam:PassRole"]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}
