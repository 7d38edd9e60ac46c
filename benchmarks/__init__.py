"""The national benchmark (`make bench`): the build timed against two references computed on the same mirror."""
