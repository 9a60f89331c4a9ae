"""The conformance matrix: one list of tampered uploads, each with the answer
the storage documents lead us to expect, run against any bucket.

* :mod:`conformance.cases`: the cases and their expected answers;
* :mod:`conformance.targets`: which bucket, from the settings;
* :mod:`conformance.attempts`: one case tried against one bucket, the
  function's side from signpost's own core (tickets, uploads, part URLs),
  what is left found and removed with the providers' own signers
  (:mod:`conformance.references`);
* :mod:`conformance.run`: runs the cases and prints the table;
  ``python -m conformance`` (``make conformance``).

``make test`` runs the same cases against the dev bucket
(``tests/devbucket/test_conformance.py``); ``docs/conformance.md`` says how to run them
against a real bucket and what a mismatch means.
"""
