"""The seed page's sample algorithm, written the way Alibaba's docs show it.

``get_token`` follows ``appserver.py`` from the OSS "form upload with a
server-side signature" page (help.aliyun.com document 91848): a policy dict
whose expiration is ``isoformat() + 'Z'``, ``json.dumps``, base64, HMAC-SHA1
with the secret, base64 again, and a dict for the page. The sample's optional
upload callback is left out: signpost's seed route does not send one either.
It is a baseline to time, not code signpost runs.
"""

from __future__ import annotations

import base64
import datetime
import hmac
import json
import time
from hashlib import sha1 as sha

access_key_id = "LTAIbenchkeyid"
access_key_secret = "bench-secret-Zq8vY2pL0xN4wB7k"
host = "https://signpost-bench.oss-cn-hangzhou.aliyuncs.com"
expire_time = 600
upload_dir = "uploads/"


def get_iso_8601(expire: int) -> str:
    gmt = datetime.datetime.utcfromtimestamp(expire).isoformat()
    gmt += "Z"
    return gmt


def get_token() -> dict[str, object]:
    now = int(time.time())
    expire_syncpoint = now + expire_time
    expire = get_iso_8601(expire_syncpoint)

    policy_dict: dict[str, object] = {}
    policy_dict["expiration"] = expire
    condition_array = []
    array_item = []
    array_item.append("starts-with")
    array_item.append("$key")
    array_item.append(upload_dir)
    condition_array.append(array_item)
    policy_dict["conditions"] = condition_array
    policy = json.dumps(policy_dict).strip()
    policy_encode = base64.b64encode(policy.encode())
    h = hmac.new(access_key_secret.encode(), policy_encode, sha)
    sign_result = base64.b64encode(h.digest()).strip()

    token_dict: dict[str, object] = {}
    token_dict["accessid"] = access_key_id
    token_dict["host"] = host
    token_dict["policy"] = policy_encode.decode()
    token_dict["signature"] = sign_result.decode()
    token_dict["expire"] = expire_syncpoint
    token_dict["dir"] = upload_dir
    return token_dict
