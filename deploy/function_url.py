"""Give the SAM template ``chalice package`` writes a Lambda function URL.

Chalice makes the API Gateway REST API only. This step, run by
``deploy/package-aws.sh`` on ``OUT/sam.json``, gives the same function:

* ``FunctionUrlConfig`` with ``AuthType: NONE``: Lambda checks nobody, so
  ``AUTH_MODE`` decides who may ask, as behind API Gateway. No ``Cors``:
  preflights reach the function and signpost answers them
  (``CORS_ALLOW_ORIGIN``), one place for CORS;
* the handler ``app.handler``, which answers the URL's events (payload 2.0)
  and API Gateway's (1.0);
* the two resource-policy statements a function URL created since October
  2025 needs with ``AuthType: NONE``: ``lambda:InvokeFunctionUrl`` for
  ``FunctionUrlAuthType: NONE``, and ``lambda:InvokeFunction`` limited to
  calls that came through the URL (``InvokedViaFunctionUrl``). AWS, "Control
  access to Lambda function URLs",
  https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html, and the
  ``AWS::Lambda::Permission`` reference,
  https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-permission.html.
  Both are written here, whatever the SAM transform adds of its own;
* an output ``FunctionUrl`` beside Chalice's ``EndpointURL``.

    python -m deploy.function_url OUT/sam.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

FUNCTION = "APIHandler"  # the logical ID chalice package gives the app's function
HANDLER = "app.handler"
# SAM names the AWS::Lambda::Url it makes from FunctionUrlConfig "<function>Url".
URL = f"{FUNCTION}Url"


def add_function_url(template: dict[str, Any]) -> dict[str, Any]:
    """``template`` with the function URL, its permissions and its output."""
    resources = template["Resources"]
    function = resources[FUNCTION]
    if function["Type"] != "AWS::Serverless::Function":
        raise ValueError(f"{FUNCTION} is a {function['Type']}, not a SAM function")
    function["Properties"]["Handler"] = HANDLER
    function["Properties"]["FunctionUrlConfig"] = {"AuthType": "NONE"}
    public = {"FunctionName": {"Ref": FUNCTION}, "Principal": "*"}
    resources[f"{FUNCTION}UrlInvokeUrlPermission"] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            **public,
            "Action": "lambda:InvokeFunctionUrl",
            "FunctionUrlAuthType": "NONE",
        },
    }
    resources[f"{FUNCTION}UrlInvokeFunctionPermission"] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {**public, "Action": "lambda:InvokeFunction", "InvokedViaFunctionUrl": True},
    }
    template.setdefault("Outputs", {})["FunctionUrl"] = {
        "Description": "The function URL frontends call (AuthType NONE: AUTH_MODE decides)",
        "Value": {"Fn::GetAtt": [URL, "FunctionUrl"]},
    }
    return template


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit("usage: python -m deploy.function_url OUT/sam.json")
    path = Path(argv[1])
    template = add_function_url(json.loads(path.read_text()))
    path.write_text(json.dumps(template, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv)
