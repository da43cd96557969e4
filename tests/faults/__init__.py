"""The fault campaign (`make faults`): not a pytest suite, a bounded program of its own."""
