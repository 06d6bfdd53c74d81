"""Speed and scale measurements (`make bench`); never part of `make test`."""
