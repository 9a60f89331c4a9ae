"""A local stand-in for an OSS or S3 bucket's form upload (OSS ``PostObject``,
S3 ``POST Object``): dev tooling only. One server speaks one provider.

It checks a form the way the storage service does, independently of
``chalicelib`` (it must never import its signers or policy code: it is the
oracle our tickets are tested against), and keeps the objects in a folder.

* :mod:`devbucket.conditions`: POST policy documents and their conditions,
  shared by OSS and S3;
* :mod:`devbucket.forms`: the streaming ``multipart/form-data`` reader;
* :mod:`devbucket.store`: objects and their metadata on disk;
* :mod:`devbucket.service`: what both providers do alike (XML errors, V4
  signature checking, the policy check, the success answer);
* :mod:`devbucket.oss`: OSS's signatures (V1, V4) and rules (fields the
  policy does not name are accepted, as OSS documents);
* :mod:`devbucket.s3`: S3's SigV4 signature, session tokens and rules (every
  field must be bound);
* :mod:`devbucket.rest_auth`: header-signed REST requests (``DELETE /<key>``),
  OSS V4 and AWS SigV4;
* :mod:`devbucket.callback`: OSS's upload callback, signed with a key pair of its own;
* :mod:`devbucket.server`: the HTTP server, CORS included.

Never deploy it: it serves every stored object to anyone who asks.
``docs/devbucket.md`` lists every rule it applies with its source.
"""
