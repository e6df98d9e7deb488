"""What the test suites share: one fake clock and one set of builders of the API's JSON."""
