"""atheris harness: the services contract of `contract.check_services` on every input."""

import harness

if __name__ == "__main__":
    harness.main("services")
