#!/usr/bin/env bash
# Create the RAM role Function Compute runs signpost with (s.yaml's `role`),
# allowed deploy/fc-ram-policy.json and nothing else: oss:PutObject,
# oss:ListParts and oss:AbortMultipartUpload under the upload prefix (the last
# two for multipart uploads, docs/large-files.md). No ACL, delete or read
# rights: a ticket signed with this role's keys can do no more than the role
# could (docs/security.md).
#   usage: deploy/fc-role.sh [ROLE_NAME]   (default signpost-fc, as in s.yaml)
# Needs the Alibaba Cloud CLI (`aliyun`) configured with a RAM administrator's
# keys. Edit the bucket and prefix in deploy/fc-ram-policy.json first: they
# must be s.yaml's OSS_BUCKET and UPLOAD_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
role="${1:-signpost-fc}"
policy="${role}-put-uploads"
trust='{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"Service":["fc.aliyuncs.com"]}}]}'

aliyun ram CreateRole --RoleName "$role" --AssumeRolePolicyDocument "$trust" \
    --Description "signpost: signs upload tickets; writes under the upload prefix only"
aliyun ram CreatePolicy --PolicyName "$policy" \
    --PolicyDocument "$(cat deploy/fc-ram-policy.json)" \
    --Description "signpost: oss:PutObject, ListParts, AbortMultipartUpload under the upload prefix"
aliyun ram AttachPolicyToRole --PolicyType Custom --PolicyName "$policy" --RoleName "$role"
echo "Role $role created; set s.yaml's role to acs:ram::<account id>:role/$role"
