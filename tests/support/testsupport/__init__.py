"""What tests share: waiting on a condition, starting a pitwall service.

On the import path through pytest's `pythonpath` setting (pyproject.toml), so a test imports
`from testsupport.waiting import wait_for` from any folder, with no relative imports or
sys.path edits.
"""
