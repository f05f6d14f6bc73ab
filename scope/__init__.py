"""scope: from changed files to the tests that can fail, with the reason for each."""
