"""What crosses a service boundary, defined once.

Every fact two services must agree on (collection names, stored document shapes, error
codes, the search-word rule, the MCAP magic, what a signal is: `signalinfo`) lives in a module of this package and is
imported, never copied; `tests/unit/test_one_definition.py` fails when a second
definition appears elsewhere.
"""
