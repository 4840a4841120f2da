"""What the tests share: one fake clock, one poll helper, one in-process cluster, and their fakes.

Test modules import from here and never from one another.
"""
