"""The deployment's declarations, checked offline: the function URL step on
the SAM template, cfn-lint on the generated templates (``slow``: they come
from ``chalice package``), the workflow against GitHub's schema, ``s.yaml``
and the AWS deploy role's files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from deploy.function_url import add_function_url

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
