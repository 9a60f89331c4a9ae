"""signpost's benchmark (SPEC section 9): run it with ``make bench``."""
