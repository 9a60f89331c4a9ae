"""A local stand-in for an OSS or S3 bucket's form upload (OSS ``PostObject``,
S3 ``POST Object``) and multipart upload: dev tooling only. One server speaks one provider.

It checks a form the way the storage service does, independently of
``chalicelib`` (it must never import its signers or policy code: it is the
oracle our tickets are tested against), and keeps the objects in a folder.

Its modules, each below the ones that use it (none imports ``chalicelib``,
and none imports another in a cycle: ``tests/devbucket`` checks both):

* :mod:`devbucket.errors`: :class:`~devbucket.errors.ServiceError`, a
  refusal as the services word it;
* :mod:`devbucket.forms`: the streaming ``multipart/form-data`` reader;
* :mod:`devbucket.conditions`: POST policy documents and their conditions;
* :mod:`devbucket.store`: objects and their metadata on disk;
* :mod:`devbucket.bucket`: a bucket's name, region and trusted keys;
* :mod:`devbucket.answers`: an operation's answer and the XML documents
  (``Error``, ``PostResponse``);
* :mod:`devbucket.signatures`: how a signature is checked: V4 forms (OSS V4,
  AWS SigV4) and V4 REST requests;
* :mod:`devbucket.callback`: OSS's upload callback, signed with a key pair
  of its own;
* :mod:`devbucket.oss`, :mod:`devbucket.s3`: what each service does its own
  way (names, codes, form rules; OSS's V1 signature), each a
  :class:`~devbucket.provider.Provider`;
* :mod:`devbucket.provider`: what an operation asks of a service;
* :mod:`devbucket.config`: a dev bucket's settings, the dev buckets and
  their public keys, the providers by name;
* :mod:`devbucket.postobject`: PostObject, the form upload;
* :mod:`devbucket.uploads`: multipart uploads in progress, their parts on disk;
* :mod:`devbucket.multipart`: the multipart calls (initiate, upload part,
  list parts, complete, abort);
* :mod:`devbucket.rest`: the signed REST API's routes (``DELETE /<key>`` and
  the multipart calls), signed in headers or presigned;
* :mod:`devbucket.server`: HTTP: requests read, routed and answered, CORS.

Never deploy it: it serves every stored object to anyone who asks.
``docs/devbucket.md`` lists every rule it applies with its source.
"""
