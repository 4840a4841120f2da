"""What the tests share: one fake clock, one poll helper, one way to run async tests.

Test modules import from here and never from one another.
"""
