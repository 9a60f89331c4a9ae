"""signpost's core: upload tickets for direct-to-storage form uploads.

Nothing here knows about HTTP frameworks; ``app.py`` is the only place that
speaks Chalice. Heavy libraries (requests, PyJWT) are imported
inside the functions that need them, so importing this package stays cheap.
"""
