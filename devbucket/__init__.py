"""A local stand-in for an OSS bucket's form upload (``PostObject``): dev tooling only.

It checks a form the way the storage service does, independently of
``chalicelib`` (it must never import its signers or policy code: it is the
oracle our tickets are tested against), and keeps the objects in a folder.

* :mod:`devbucket.conditions`: POST policy documents and their conditions,
  shared by OSS and S3;
* :mod:`devbucket.forms`: the streaming ``multipart/form-data`` reader;
* :mod:`devbucket.store`: objects and their metadata on disk;
* :mod:`devbucket.oss`: OSS's signatures (V1, V4), rules and XML errors;
* :mod:`devbucket.callback`: OSS's upload callback, signed with a key pair of its own;
* :mod:`devbucket.server`: the HTTP server, CORS included.

Never deploy it: it serves every stored object to anyone who asks.
"""
