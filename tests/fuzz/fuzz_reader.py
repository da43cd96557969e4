"""atheris harness: the reader contract of `contract.check_reader` on every input."""

import harness

if __name__ == "__main__":
    harness.main("reader")
