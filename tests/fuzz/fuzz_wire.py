"""atheris harness: the wire contract of `contract.check_wire` on every input."""

import harness

if __name__ == "__main__":
    harness.main("wire")
