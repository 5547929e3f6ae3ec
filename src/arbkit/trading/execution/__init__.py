"""Live execution: the two-leg executor, its per-order bookkeeping and the write-ahead journal."""
