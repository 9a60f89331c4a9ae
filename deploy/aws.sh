#!/usr/bin/env bash
# Deploy one stage to AWS in one command: `chalice package` with bytecode and
# the function URL (deploy/package-aws.sh), then CloudFormation; prints
# `FunctionUrl URL` and `EndpointURL URL`.
# CloudFormation keeps the deployment's state, so a CI runner needs no
# .chalice/deployed/ (which `chalice deploy` would leave on the runner).
#   usage: deploy/aws.sh dev|prod
# Needs AWS credentials and AWS_DEFAULT_REGION in the environment, and
# ARTIFACT_BUCKET: an S3 bucket that holds the uploaded deployment packages.
set -euo pipefail
cd "$(dirname "$0")/.."
stage="${1:?usage: deploy/aws.sh dev|prod}"
: "${ARTIFACT_BUCKET:?set ARTIFACT_BUCKET to a bucket for deployment packages}"
out="build/aws-$stage"
stack="signpost-$stage"

deploy/package-aws.sh "$stage" "$out"
aws cloudformation package --template-file "$out/sam.json" \
    --s3-bucket "$ARTIFACT_BUCKET" --s3-prefix "signpost/$stage" \
    --output-template-file "$out/packaged.yaml"
aws cloudformation deploy --template-file "$out/packaged.yaml" --stack-name "$stack" \
    --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset
# Both URLs, one a line: the function URL (what frontends call), then API Gateway's.
for output in FunctionUrl EndpointURL; do
    echo "$output $(aws cloudformation describe-stacks --stack-name "$stack" \
        --query "Stacks[0].Outputs[?OutputKey=='$output'].OutputValue" --output text)"
done
