"""Local development stack: real servers as child processes, test isolation, `pitwall dev up`.

Nothing in here is imported by the services: this is tooling for people and tests.
"""
